// Placeholder until this page is built.
export default function PredictionsPage() {
  return <div className="page-message">Predictions</div>;
}
