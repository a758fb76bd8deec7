"""`python -m trafficcast.cli`: the same command as `trafficcast`."""

from trafficcast.cli import main

main()
