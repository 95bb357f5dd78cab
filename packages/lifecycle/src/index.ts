export { TimeoutError, within, settleWithin } from './wait.js';
export { CleanupError, CleanupStack, cleanUp, defaultStepTimeoutMs, runSteps, type CleanupStep, type FailedStep } from './cleanup.js';
