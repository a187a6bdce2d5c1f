package gpufleet.common;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class IpLiteralsTest {
    @Test
    void literalsBecomeOneCanonicalText() {
        assertThat(IpLiterals.canonical("10.0.4.7")).isEqualTo("10.0.4.7");
        assertThat(IpLiterals.canonical("::ffff:127.0.0.1")).as("IPv4-mapped is the IPv4 address").isEqualTo("127.0.0.1");
        assertThat(IpLiterals.canonical("[::1]")).isEqualTo(IpLiterals.canonical("0:0:0:0:0:0:0:1"));
        assertThat(IpLiterals.canonical("FD00::0001")).isEqualTo(IpLiterals.canonical("fd00::1"));
    }

    @Test
    void namesAndNearMissesAreNotAddressesAndAreNeverLookedUp() {
        for (String notOne : new String[] {"localhost", "gpu-07.example", "1.2.3", "256.1.1.1", "127.1", "01.2.3.4", "", ":",
                "10.0.0.1:80", "fe80::1%eth0", null}) {
            assertThat(IpLiterals.canonical(notOne)).as("'%s'", notOne).isNull();
        }
    }
}
