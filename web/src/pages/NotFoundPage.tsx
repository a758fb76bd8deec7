import { Link } from 'react-router';

export default function NotFoundPage() {
  return (
    <div className="page-message" role="alert">
      <p>There is no page here.</p>
      <Link to="/">Go to the overview</Link>
    </div>
  );
}
