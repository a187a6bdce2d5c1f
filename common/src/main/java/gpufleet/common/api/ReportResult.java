package gpufleet.common.api;

/** The answer to an inventory report: applied, or ignored because the stored generation is as new or newer. */
public record ReportResult(boolean applied, long generation) {}
