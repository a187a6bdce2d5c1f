package gpufleet.control.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import gpufleet.common.Invalid;
import java.util.List;
import org.junit.jupiter.api.Test;

/** What a join token request allows by default, and the limits it is held to. */
class JoinTokenRequestTest {
    @Test
    void oneRegistrationByDefaultOrOnePerNamedHost() {
        assertThat(new JoinTokenRequest(null, null, null, null, null).usesOrDefault()).isEqualTo(1);
        assertThat(new JoinTokenRequest(null, null, null, List.of("gpu-01", "gpu-02"), null).usesOrDefault()).isEqualTo(2);
        assertThat(new JoinTokenRequest(null, null, 5, List.of("gpu-01"), null).usesOrDefault()).isEqualTo(5);
    }

    @Test
    void usesAndHostNamesAreBounded() {
        assertInvalid(() -> new JoinTokenRequest(null, null, 0, null, null), "uses");
        assertInvalid(() -> new JoinTokenRequest(null, null, JoinTokenRequest.MAX_USES + 1, null, null), "uses");
        assertInvalid(() -> new JoinTokenRequest(null, null, null, List.of(), null), "hosts");
        assertInvalid(() -> new JoinTokenRequest(null, null, null, List.of("gpu-01", "gpu-01"), null), "hosts");
        assertInvalid(() -> new JoinTokenRequest(null, null, null, List.of("gpu-01", "{env.HOME}"), null), "hosts[1]");
    }

    private static void assertInvalid(Runnable make, String field) {
        assertThatThrownBy(make::run).isInstanceOf(Invalid.class).satisfies(e -> assertThat(((Invalid) e).field()).isEqualTo(field));
    }
}
