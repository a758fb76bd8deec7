// Placeholder until this page is built.
export default function OverviewPage() {
  return <div className="page-message">Overview</div>;
}
