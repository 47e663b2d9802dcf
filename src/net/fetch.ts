/**
 * `fetch` with the proxy environment honoured (src/net/proxy.ts): undici's fetch with a ProxyAwareDispatcher, as
 * a fetch must be given a dispatcher of its own undici. undici loads at the first request, not with the module.
 */
export function proxyAwareFetch(env: NodeJS.ProcessEnv = process.env): typeof fetch {
  const fetchWithProxy = async (input: unknown, init?: Record<string, unknown>) => {
    const { undiciFetch, dispatcherFor } = await import('./dispatcher.ts');
    return undiciFetch(input as Parameters<typeof undiciFetch>[0], {
      ...(init as Parameters<typeof undiciFetch>[1]),
      dispatcher: dispatcherFor(env),
    });
  };
  return fetchWithProxy as unknown as typeof fetch;
}
