// Placeholder until this page is built.
export default function AnalyticsPage() {
  return <div className="page-message">Analytics</div>;
}
