export { jobHash, fmix32, memberSeeds } from './hash.js';
export {
  defaultPartitionCount,
  maxPartitionCount,
  assertPartitionCount,
  partitionOf,
  partitionOfHash,
  hashRange,
  hashRanges,
} from './partition.js';
export { assign, partitionsOf, shares, moves, type Assignment, type Move } from './assign.js';
