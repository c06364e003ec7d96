import { ApiError } from '../api';
import { formatDuration } from '../format';

/** What went wrong, in the server's words; for 429 also when to try again. */
export function errorMessage(error: unknown): string {
  if (error instanceof ApiError) {
    if (error.retryAfter !== undefined) {
      return `${error.message} (you can try again in ${formatDuration(error.retryAfter * 1000)})`;
    }
    return error.message;
  }
  return error instanceof Error ? error.message : String(error);
}

export function ErrorText({ error, id }: { error: unknown; id?: string }) {
  if (error === undefined || error === null) return null;
  return (
    <p className="error" role="alert" id={id}>
      {errorMessage(error)}
    </p>
  );
}
