export * from "./redis";
export * from "./keys";
export * from "./queues";
export * from "./job-store";
export * from "./queue-metrics";
export * from "./tenant-job-index";
export { CREATE_JOB_FUNCTION } from "./job-store-scripts";
export * from "./fair-scheduler";
export * from "./fair-enqueue";
