import { useState } from 'react';

/** A secret or code shown once, with a button that copies it. */
export function CopyField({ label, value }: { label: string; value: string }) {
  const [copied, setCopied] = useState<'yes' | 'no' | undefined>();
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(value);
      setCopied('yes');
    } catch {
      // Clipboard access needs a secure context or a permission; the text stays selectable.
      setCopied('no');
    }
  };
  return (
    <div className="copy-field">
      <input aria-label={label} readOnly value={value} onFocus={(e) => e.currentTarget.select()} />
      <button type="button" onClick={copy}>
        Copy
      </button>
      <span role="status" className="muted">
        {copied === 'yes' ? 'Copied' : copied === 'no' ? 'Select the text and copy it yourself' : ''}
      </span>
    </div>
  );
}
