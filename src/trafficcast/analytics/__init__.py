"""Traffic-engineering measures (VMT, VHT, delay, TTI, congestion, bottlenecks) and reports."""
