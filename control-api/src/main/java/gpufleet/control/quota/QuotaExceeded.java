package gpufleet.control.quota;

import gpufleet.control.http.ApiException;
import gpufleet.control.http.ErrorKind;

/**
 * The refusal for a count over its limit, in Kubernetes' ResourceQuota words (403, "exceeded
 * quota", what was asked, used and allowed), so that a tenant's tools read it as they read their
 * own cluster's: nothing was stored, and retrying will not help until something is removed.
 */
final class QuotaExceeded {
    private QuotaExceeded() {}

    static ApiException of(String quota, String tenant, long requested, long used, long limit, String remedy) {
        return new ApiException(ErrorKind.FORBIDDEN, "exceeded quota: " + quota + " of tenant " + tenant + ", requested: "
                + requested + ", used: " + used + ", limited: " + limit + "; " + remedy);
    }
}
