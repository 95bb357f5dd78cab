export { freePort } from './ports.js';
export { waitFor, type WaitOptions } from './wait.js';
export { within, cleanUp, followCursor, type CleanupStep } from './bounded.js';
export { tempDir, type TempDir } from './temp.js';
export { spawnProcess, type ChildHandle, type SpawnOptions } from './process.js';
export { startZooKeeper, type ZooKeeperHandle, type ZooKeeperOptions } from './zookeeper.js';
export { startSmtpSink, type SmtpSink } from './smtp.js';
export { startMongo, buildMongoServer, type MongoHandle, type MongoOptions } from './mongo.js';
export { mongoForTest, type TestMongo, type NoTestMongo } from './mongo-for-test.js';
