package gpufleet.common;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import gpufleet.common.api.TenantSpec;
import java.net.IDN;
import java.util.List;
import org.junit.jupiter.api.Test;

class NamesTest {
    @Test
    void placeholdersPathsAndSyntaxAreNotNames() {
        for (String bad : List.of("{env.HOME}", "{system.hostname}", "a/b", "../x", "a.b", "-a", "a-", "A", "a_b", "a b", "", "a\nb")) {
            assertThatThrownBy(() -> Names.label(bad, "namespace", 63)).as(bad).isInstanceOf(Invalid.class)
                    .satisfies(e -> assertThat(((Invalid) e).field()).isEqualTo("namespace"));
        }
        assertThat(Names.label("kube-system", "namespace", 63)).isEqualTo("kube-system");
        assertThatThrownBy(() -> Names.label("x".repeat(64), "namespace", 63)).hasMessageContaining("longer than 63");
    }

    @Test
    void aServiceNameStartsWithALetterAndAPodNameMayHaveDots() {
        assertThat(Names.label1035("web-1", "name")).isEqualTo("web-1");
        assertThatThrownBy(() -> Names.label1035("1web", "name")).hasMessageContaining("RFC 1035");
        assertThat(Names.subdomain("web.v2-0", "name")).isEqualTo("web.v2-0");
        assertThatThrownBy(() -> Names.subdomain("web..v2", "name")).hasMessageContaining("RFC 1123 subdomain");
        assertThatThrownBy(() -> Names.subdomain("{env.HOME}", "name")).isInstanceOf(Invalid.class);
    }

    @Test
    void aUidIsALowercaseUuid() {
        assertThat(Names.uid("8d0a8f33-e9f9-434a-b3de-9ae58ac9de76", "serviceUid")).isNotNull();
        for (String bad : List.of("svc-1", "8D0A8F33-E9F9-434A-B3DE-9AE58AC9DE76", "8d0a8f33-e9f9-434a-b3de-9ae58ac9de76-x", "{env.HOME}")) {
            assertThatThrownBy(() -> Names.uid(bad, "serviceUid")).as(bad).hasMessageContaining("must be a Kubernetes UID");
        }
    }

    @Test
    void theLongestTenantNameGivesPublicNamesThatDnsAccepts() {
        String uid = "8d0a8f33-e9f9-434a-b3de-9ae58ac9de76";
        String longest = "t" + "0123456789".repeat(3).substring(0, TenantSpec.MAX_NAME - 2) + "z";
        assertThat(new TenantSpec(longest, List.of()).name()).hasSize(26);
        String label = uid + "-" + longest;
        assertThat(label).hasSize(63);
        // Java's IDNA encoder with the STD3 rules refuses a label over 63 characters or one with a leading or trailing '-'.
        assertThat(IDN.toASCII(label + ".fleet.example", IDN.USE_STD3_ASCII_RULES)).isEqualTo(label + ".fleet.example");
        assertThatThrownBy(() -> IDN.toASCII(label + "x.fleet.example", IDN.USE_STD3_ASCII_RULES)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new TenantSpec(longest + "x", List.of()))
                .hasMessageContaining("longer than 26 characters: its Services' public names (<service uid>-<tenant>) must fit in one 63-character DNS label");
        assertThatThrownBy(() -> new TenantSpec("-demo", List.of())).hasMessageContaining("starting and ending with a letter or digit");
        assertThatThrownBy(() -> new TenantSpec("demo-", List.of())).hasMessageContaining("starting and ending with a letter or digit");
    }
}
