// Placeholder until this page is built.
export default function AlertsPage() {
  return <div className="page-message">Alerts</div>;
}
