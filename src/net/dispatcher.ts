import { Agent, Dispatcher, ProxyAgent, fetch as undiciFetch } from 'undici';
import { describeProxy, proxyAuthorization, proxyFor } from './proxy.ts';

/**
 * An undici dispatcher that sends each request through the proxy the environment names for its origin
 * (undici's ProxyAgent: a CONNECT tunnel per origin), or directly when there is none or NO_PROXY exempts it. The
 * environment is read at every request, so one dispatcher serves a whole process.
 */
export class ProxyAwareDispatcher extends Dispatcher {
  private readonly direct = new Agent();
  private readonly proxies = new Map<string, ProxyAgent>();

  constructor(private readonly env: NodeJS.ProcessEnv = process.env) {
    super();
  }

  override dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandlers): boolean {
    const origin = options.origin instanceof URL ? options.origin : new URL(String(options.origin));
    const proxy = proxyFor(origin, this.env);
    return (proxy ? this.viaProxy(proxy) : this.direct).dispatch(options, handler);
  }

  private viaProxy(proxy: URL): ProxyAgent {
    const key = proxy.href;
    let agent = this.proxies.get(key);
    if (!agent) {
      const token = proxyAuthorization(proxy);
      agent = new ProxyAgent({ uri: describeProxy(proxy), ...(token ? { token } : {}) });
      this.proxies.set(key, agent);
    }
    return agent;
  }

  override close(): Promise<void>;
  override close(callback: () => void): void;
  override close(callback?: () => void): Promise<void> | void {
    const closing = Promise.all([
      this.direct.close(),
      ...[...this.proxies.values()].map((p) => p.close()),
    ]).then(() => undefined);
    if (!callback) return closing;
    void closing.then(callback);
  }
}

const dispatchers = new WeakMap<NodeJS.ProcessEnv, ProxyAwareDispatcher>();

/** The process's dispatcher for `env` (one per environment object, so connections are pooled). */
export function dispatcherFor(env: NodeJS.ProcessEnv = process.env): ProxyAwareDispatcher {
  let dispatcher = dispatchers.get(env);
  if (!dispatcher) {
    dispatcher = new ProxyAwareDispatcher(env);
    dispatchers.set(env, dispatcher);
  }
  return dispatcher;
}

export { undiciFetch };
