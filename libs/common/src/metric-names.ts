// Names of the metrics @labelloop/common defines, in one place (labelloop_<thing>_<unit>).
// Services declare their own in their own metric-names.ts.

/** Counter {grpc_service, grpc_method, grpc_code}: calls a server finished. */
export const GRPC_SERVER_HANDLED_TOTAL = 'labelloop_grpc_server_handled_total';
/** Histogram {grpc_service, grpc_method}: seconds a server took per call. */
export const GRPC_SERVER_HANDLING_SECONDS = 'labelloop_grpc_server_handling_seconds';
/** Counter {grpc_service, grpc_method, grpc_code}: calls a client finished. */
export const GRPC_CLIENT_HANDLED_TOTAL = 'labelloop_grpc_client_handled_total';
