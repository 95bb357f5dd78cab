/**
 * One readiness check of a process: `true` when the dependency it names is usable now (the
 * ZooKeeper session connected, the store answering, an agent's leader connected). It may be async,
 * and is bounded by whoever calls it; a throw counts as not ready.
 */
export type ReadinessCheck = () => boolean | Promise<boolean>;

/** A process's readiness checks by name (`zookeeper`, `store`, `leader`), as `/readyz` reports them. */
export type ReadinessChecks = Record<string, ReadinessCheck>;
