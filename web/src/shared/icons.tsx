// The few icons the UI draws, as inline SVG (no icon font to load; emoji are not on every machine).
const svg = (path: string) =>
  function Icon({ size = 14 }: { size?: number }) {
    return (
      <svg width={size} height={size} viewBox="0 0 24 24" fill="none" stroke="currentColor" strokeWidth={2} strokeLinecap="round" strokeLinejoin="round" aria-hidden="true">
        <path d={path} />
      </svg>
    );
  };

export const LockIcon = svg('M6 11h12v10H6zM8 11V7a4 4 0 0 1 8 0v4');
export const UnlockIcon = svg('M6 11h12v10H6zM8 11V7a4 4 0 0 1 7.5-2');
export const GripIcon = svg('M9 5h.01M9 12h.01M9 19h.01M15 5h.01M15 12h.01M15 19h.01');
