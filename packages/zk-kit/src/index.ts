export type {
  ZkClient, ZkClientOptions, ZkConnectionState, ZkStat, CreateMode, WatchEvent, WatchEventType, ZkLogger,
  NodeKind, NodeRecord, Unsubscribe, ClusterConfig, JobChange,
} from './interfaces.js';
export { ZkError, NoNodeError, NodeExistsError, BadVersionError, NotEmptyError, ConnectionLossError, InvalidDataError } from './errors.js';
export { cloverPaths, nodeKinds, joinPath, parentOf, type CloverPaths } from './paths.js';
export { createZkClient } from './create.js';
export { MemoryZkServer } from './memory/tree.js';
export { LeaderElection, watchLeader, readLeader, type LeaderElectionOptions, type LeaderInfo } from './recipes/election.js';
export { NodeRegistry } from './recipes/registry.js';
export { publishJobChange, JobChangeFeed, type JobChangeFeedOptions } from './recipes/job-changes.js';
export { readClusterConfig, writeClusterConfig, defaultClusterConfig } from './recipes/config.js';
