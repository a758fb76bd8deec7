// Placeholder until this page is built.
export default function SegmentPage() {
  return <div className="page-message">Segment</div>;
}
