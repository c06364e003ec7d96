import type { Phase } from '../api';

/** The phase in words and in colour, so it reads without the colour too. */
export function PhaseBadge({ phase }: { phase: Phase | undefined }) {
  const shown = phase ?? 'Pending';
  return <span className={`badge badge-${shown.toLowerCase()}`}>{shown}</span>;
}
