package gpufleet.common.api;

/** The one error body every API answers with: a machine kind, a human reason, the field at fault. */
public record ApiError(String error, String message, String field) {}
