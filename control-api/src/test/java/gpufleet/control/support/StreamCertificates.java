package gpufleet.control.support;

/**
 * Two self-signed EC certificates (base64 DER), made once with keytool, for tests that report a
 * host's stream endpoint: the control-api checks and pins the certificate, never dials it here.
 */
public final class StreamCertificates {
    public static final String A = ""
            + "MIIBQDCB56ADAgECAggCKA+3bNKcYjAKBggqhkjOPQQDAjAUMRIwEAYDVQQDEwlmaXh0dXJlIGEwIBcNMjYxMTI5MDE1OTE1"
            + "WhgPMjEyNjExMDUwMTU5MTVaMBQxEjAQBgNVBAMTCWZpeHR1cmUgYTBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABApOQNjq"
            + "gQ+u8rH0ME6A4tl4JQVQRdVvQcxl+XSnJhK7VlgB5vQBu8oxF82WB+K3qdVIVZCDGOXncEXVCAcahXSjITAfMB0GA1UdDgQW"
            + "BBRUJgEqA3x5E5uT4RzcL8S3SnpfhTAKBggqhkjOPQQDAgNIADBFAiEA+tWv3kAdCzYwY1oqTKWAcvobO9GEuEWOX1c6woKK"
            + "fT8CICI9RzUz50IGecGb6h2sw1pI8cr+eAoVA2OgRFZ2sCFn";
    public static final String B = ""
            + "MIIBQTCB56ADAgECAghAhXyNpPL27zAKBggqhkjOPQQDAjAUMRIwEAYDVQQDEwlmaXh0dXJlIGIwIBcNMjYxMTI5MDE1OTE3"
            + "WhgPMjEyNjExMDUwMTU5MTdaMBQxEjAQBgNVBAMTCWZpeHR1cmUgYjBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABF3sem5V"
            + "jHJYALt2rygicpWEWhwc3Sj082F8FQOyfxXT1xGCR6t7A9csbOjKVDbsK+jdUASw4OsPsduC13jKIlijITAfMB0GA1UdDgQW"
            + "BBRulFyKHmlTRqljU3QpAbl4dDAXSjAKBggqhkjOPQQDAgNJADBGAiEAgRHyV8fGmP363QOQAkVg4t0O98P/ml6Y6kkdKVYK"
            + "KXQCIQDsfjJTgaySoN3smVwjBnoOzEJGzKnAmvhqu563sPIvfw==";

    private StreamCertificates() {}
}
