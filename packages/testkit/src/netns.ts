import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * Hosts of their own on one machine, for partition tests: a Linux network namespace per host,
 * each joined by a veth pair to one bridge, each with its own address on a private /24 (Debian's
 * `iproute2`; needs root, or CAP_NET_ADMIN and CAP_SYS_ADMIN).
 *
 * The layout, for prefix `clv` and hosts `a`, `b`:
 *
 *     namespace clv-net:  bridge clvbr, ports clvb1 (a), clvb2 (b), clvb0 (this process)
 *     namespace clv-a:    eth0 = 10.213.0.11/24, lo up        (veth peer of clvb1)
 *     namespace clv-b:    eth0 = 10.213.0.12/24, lo up        (veth peer of clvb2)
 *     this namespace:     clvh0 = 10.213.0.1/24               (veth peer of clvb0)
 *
 * The bridge lives in a namespace of its own, not in this one: bridged frames then pass no
 * netfilter rule of this machine's (br_netfilter sends bridged IPv4 through the iptables of the
 * bridge's namespace), and nothing leaves the /24: no namespace has a default route.
 *
 * `cut(host)` sets the host's bridge port down: its eth0 loses carrier, every packet to or from it
 * is dropped, and open TCP connections stay open without a RST, as when a cable is pulled or a
 * switch port dies. `heal(host)` sets it up again.
 */
export interface HostNetwork {
  /** The namespaces' name prefix, also of every link made (at most 6 characters). */
  readonly prefix: string;
  /** This process's own address on the network (its veth into the bridge). */
  readonly gateway: string;
  /** The hosts by name, in the order given. */
  readonly hosts: ReadonlyMap<string, NetHost>;
  /** The host of that name. @throws Error when there is none. */
  host(name: string): NetHost;
  /** Takes the host off the network (its bridge port down). Safe when it is off already. */
  cut(name: string): Promise<void>;
  /** Puts it back (its bridge port up). Safe when it is on already. */
  heal(name: string): Promise<void>;
  /** The hosts cut off now. */
  readonly cutOff: ReadonlySet<string>;
  /** Removes every namespace and link it made. Safe twice; never throws. */
  close(): Promise<void>;
}

export interface NetHost {
  readonly name: string;
  /** Its network namespace (`ip netns`). */
  readonly namespace: string;
  /** Its IPv4 address on the network. */
  readonly address: string;
  /**
   * The command line that runs `cmd args` on this host: `ip netns exec <namespace> cmd args`.
   * `ip` execs the command in place (no fork), so the pid spawned is the command's own and
   * signals (SIGSTOP, SIGKILL) reach it.
   */
  readonly command: (cmd: string, args: readonly string[]) => [string, string[]];
}

export interface HostNetworkOptions {
  /** Namespace and link name prefix, 2–6 characters of [a-z0-9] (default `clv`). */
  prefix?: string;
  /** The /24 the hosts are numbered in, as its first three octets (default `10.213.0`). */
  subnet?: string;
}

const ip = async (...args: string[]): Promise<void> => {
  try {
    await run('ip', args, { timeout: 10_000 });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`ip ${args.join(' ')}: ${(e.stderr ?? e.message).trim()}`);
  }
};

/** Removes what an earlier run with this prefix left behind (it was SIGKILLed, say). Never throws. */
export function removeHostNetwork(prefix = 'clv'): void {
  const quiet = { stdio: 'ignore' as const, timeout: 10_000 };
  let names: string[] = [];
  try {
    names = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8', timeout: 10_000 })
      .split('\n')
      .map((l) => l.split(' ')[0] ?? '')
      .filter((n) => n.startsWith(`${prefix}-`));
  } catch {
    /* no ip netns: nothing to remove */
  }
  // Deleting a namespace deletes the veth ends in it, and with them their peers; the bridge goes with clv-net.
  for (const ns of names)
    try {
      execFileSync('ip', ['netns', 'delete', ns], quiet);
    } catch {
      /* gone already */
    }
  try {
    execFileSync('ip', ['link', 'delete', `${prefix}h0`], quiet);
  } catch {
    /* gone with its peer */
  }
}

/**
 * Makes the network and one namespace per host, numbered from .11 in the order given, after
 * removing what an earlier run with the same prefix left. Until `close()`, the namespaces are
 * removed on SIGINT, SIGTERM and at this process's exit too, so a failed or interrupted run leaves
 * none behind (a SIGKILLed one is swept by the next run's start).
 * @throws Error when a name is not [a-z0-9-]{1,20}, there are more than 200 hosts, or an `ip` command fails (not root).
 */
export async function createHostNetwork(hostNames: readonly string[], opts: HostNetworkOptions = {}): Promise<HostNetwork> {
  const prefix = opts.prefix ?? 'clv';
  const subnet = opts.subnet ?? '10.213.0';
  if (!/^[a-z0-9]{2,6}$/.test(prefix)) throw new Error(`host network prefix ${prefix}: 2-6 characters of [a-z0-9]`);
  if (hostNames.length > 200) throw new Error('at most 200 hosts on one /24');
  for (const n of hostNames) if (!/^[a-z0-9-]{1,20}$/.test(n)) throw new Error(`host name ${n}: 1-20 characters of [a-z0-9-]`);
  removeHostNetwork(prefix);
  const net = `${prefix}-net`;
  const inNet = (...args: string[]) => ip('-n', net, ...args);
  const onSignal = (signal: NodeJS.Signals) => {
    removeHostNetwork(prefix);
    process.kill(process.pid, signal);
  };
  const onExit = () => removeHostNetwork(prefix);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  process.once('exit', onExit);
  const unhook = () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('exit', onExit);
  };
  const gateway = `${subnet}.1`;
  const hosts = new Map<string, NetHost>();
  try {
    await ip('netns', 'add', net);
    await inNet('link', 'add', `${prefix}br`, 'type', 'bridge');
    await inNet('link', 'set', `${prefix}br`, 'up');
    // This process's own port: the harness reaches every host through it.
    await ip('link', 'add', `${prefix}h0`, 'type', 'veth', 'peer', 'name', `${prefix}b0`, 'netns', net);
    await inNet('link', 'set', `${prefix}b0`, 'master', `${prefix}br`, 'up');
    await ip('addr', 'add', `${gateway}/24`, 'dev', `${prefix}h0`);
    await ip('link', 'set', `${prefix}h0`, 'up');
    for (const [i, name] of hostNames.entries()) {
      const namespace = `${prefix}-${name}`;
      const address = `${subnet}.${11 + i}`;
      const port = `${prefix}b${i + 1}`;
      await ip('netns', 'add', namespace);
      await inNet('link', 'add', port, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', namespace);
      await inNet('link', 'set', port, 'master', `${prefix}br`, 'up');
      await ip('-n', namespace, 'addr', 'add', `${address}/24`, 'dev', 'eth0');
      await ip('-n', namespace, 'link', 'set', 'eth0', 'up');
      await ip('-n', namespace, 'link', 'set', 'lo', 'up');
      hosts.set(name, { name, namespace, address, command: (cmd, args) => ['ip', ['netns', 'exec', namespace, cmd, ...args]] });
    }
  } catch (err) {
    unhook();
    removeHostNetwork(prefix);
    throw err;
  }
  const portOf = (name: string) => `${prefix}b${hostNames.indexOf(name) + 1}`;
  const cutOff = new Set<string>();
  let closing: Promise<void> | undefined;
  const network: HostNetwork = {
    prefix,
    gateway,
    hosts,
    cutOff,
    host(name) {
      const h = hosts.get(name);
      if (!h) throw new Error(`no host ${name} on this network`);
      return h;
    },
    async cut(name) {
      network.host(name);
      await inNet('link', 'set', portOf(name), 'down');
      cutOff.add(name);
    },
    async heal(name) {
      network.host(name);
      await inNet('link', 'set', portOf(name), 'up');
      cutOff.delete(name);
    },
    close() {
      closing ??= (async () => {
        unhook();
        removeHostNetwork(prefix);
        await Promise.resolve();
      })();
      return closing;
    },
  };
  return network;
}
