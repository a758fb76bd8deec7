// Placeholder until this page is built.
export default function SettingsPage() {
  return <div className="page-message">Settings</div>;
}
