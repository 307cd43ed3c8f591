// What the UI says when a request fails: the node's sentence when it sent one, never a stack.
import { ApiError } from '../api/transport';

export function messageOf(e: unknown): string {
  if (e instanceof ApiError) return e.message;
  if (e instanceof Error && e.message) return `Something went wrong: ${e.message}`;
  return 'Something went wrong. Try again.';
}

export function codeOf(e: unknown): string {
  return e instanceof ApiError ? e.code : 'INTERNAL';
}
