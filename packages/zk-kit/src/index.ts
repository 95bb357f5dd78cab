export type {
  ZkClient,
  ZkClientOptions,
  ZkConnectionState,
  ZkStat,
  CreateMode,
  WatchEvent,
  WatchEventType,
  WatchOptions,
  NodeKind,
  NodeRecord,
  Unsubscribe,
  ClusterConfig,
  JobChange,
} from './interfaces.js';
export {
  ZkError,
  NoNodeError,
  NodeExistsError,
  BadVersionError,
  NotEmptyError,
  ConnectionLossError,
  InvalidDataError,
  NoAuthError,
} from './errors.js';
export { cloverAcl, digestId, Perms, type ZkAclEntry, type ZkCredentials } from './acl.js';
export {
  cloverPaths,
  nodeKinds,
  joinPath,
  parentOf,
  structuralPaths,
  structuralPath,
  type CloverPaths,
  type StructuralPath,
} from './paths.js';
export { createZkClient } from './create.js';
export { MemoryZkServer } from './memory/tree.js';
export {
  LeaderElection,
  watchLeader,
  readLeader,
  watchCandidates,
  readCandidates,
  type LeaderElectionOptions,
  type LeaderInfo,
  type CandidateInfo,
  type CandidateList,
} from './recipes/election.js';
export { NodeRegistry } from './recipes/registry.js';
export { PartitionOwnership, partitionNodeName, type PartitionGrant, type PartitionOwnershipOptions } from './recipes/partitions.js';
export { publishJobChange, JobChangeFeed, type JobChangeFeedOptions } from './recipes/job-changes.js';
export {
  readClusterConfig,
  watchClusterConfig,
  writeClusterConfig,
  defaultClusterConfig,
  type ClusterConfigOptions,
} from './recipes/config.js';
