// A button for an action some roles may not take: for them it stays visible and
// focusable but inert (aria-disabled), with a tooltip naming the role it needs.
import type { ButtonHTMLAttributes, MouseEvent } from 'react';
import type { Capability } from './capabilities';
import { useCapability } from './AuthProvider';

export function RoleButton({
  capability,
  onClick,
  title,
  className,
  disabled,
  ...rest
}: ButtonHTMLAttributes<HTMLButtonElement> & { capability: Capability }) {
  const { allowed, reason } = useCapability(capability);
  if (allowed) return <button {...rest} className={className} title={title} disabled={disabled} onClick={onClick} />;
  // Not `disabled`: a disabled button takes no hover or focus, so its tooltip would never show.
  const block = (event: MouseEvent<HTMLButtonElement>) => event.preventDefault();
  return (
    <button
      {...rest}
      className={className ? `${className} role-locked` : 'role-locked'}
      title={reason ?? undefined}
      aria-disabled="true"
      data-locked="true"
      onClick={block}
    />
  );
}

/** A short line under a form the role may look at but not change. */
export function RoleNote({ capability, what }: { capability: Capability; what: string }) {
  const { allowed, reason } = useCapability(capability);
  if (allowed) return null;
  return (
    <p className="role-note" data-testid="role-note">
      Read only: {reason?.replace(/^Needs/, 'changing ' + what + ' needs')}.
    </p>
  );
}
