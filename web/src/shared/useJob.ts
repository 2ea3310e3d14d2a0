// Long work (a bulk action, an export, an import) is followed the same way everywhere: its state is
// read every half second until it ends; a read that fails (the server restarting, the network) is
// tried again rather than freezing the progress bar, and said once it keeps failing.
import { useQuery } from '@tanstack/react-query';
import { call, type Res } from './api.ts';

export type Job = Res<'GET /jobs/{jobId}'>;
const ENDED = new Set(['done', 'failed', 'cancelled']);
export const hasEnded = (status: string) => ENDED.has(status);

/** Follows `read` (keyed by `key`; null: nothing to follow) until its status has ended. */
export function useFollow<T extends { status: string }>(key: readonly unknown[] | null, read: () => Promise<T>, every = 500) {
  return useQuery({
    queryKey: ['follow', ...(key ?? [])],
    enabled: key !== null,
    queryFn: read,
    refetchInterval: (q) => (q.state.data && hasEnded(q.state.data.status) ? false : every),
    // Kept while it runs: a failed read leaves the last state on screen and is retried.
    retry: 4,
    retryDelay: every,
    staleTime: 0,
    gcTime: 0,
  });
}

/** A job of the queue (`GET /jobs/{jobId}`) until it ends. */
export const useJob = (jobId: number | null) => useFollow(jobId === null ? null : ['job', jobId], () => call('GET /jobs/{jobId}', { path: { jobId: jobId! } }));
