package gpufleet.host.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class PodFirewallTest {

    @Test
    void networksAreParsedStrictlyBecauseTheyAreWrittenIntoRules() {
        assertThat(Ipv4Cidr.parse("198.51.100.0/24").toString()).isEqualTo("198.51.100.0/24");
        assertThat(Ipv4Cidr.parseAll(" 10.1.0.0/16,192.0.2.0/24 ")).extracting(Ipv4Cidr::toString).containsExactly("10.1.0.0/16", "192.0.2.0/24");
        for (String bad : List.of("10.0.0.0/8\n-A INPUT -j ACCEPT", "10.0.0.0/8 -j ACCEPT", "example.com/24", "10.0.0.0", "256.0.0.0/8",
                "10.0.0.0/33", "::1/128", "")) {
            assertThatThrownBy(() -> Ipv4Cidr.parse(bad)).as(bad).isInstanceOf(IllegalArgumentException.class);
        }
        assertThatThrownBy(() -> Ipv4Cidr.parse("10.1.2.3/8")).hasMessageContaining("did you mean 10.0.0.0/8?");
    }

    @Test
    void theRulesRefuseTheHostAndEveryNonInternetRangeAfterReplies() {
        PodFirewall f = new PodFirewall(true, List.of(Ipv4Cidr.parse("198.51.100.0/24")), List.of("10.255.255.53"), (c, in) -> null);
        String v4 = f.rules4();
        assertThat(v4).contains(":GPUFLEET-POD-IN - [0:0]", "-A GPUFLEET-POD-IN -j REJECT --reject-with icmp-admin-prohibited",
                "-A GPUFLEET-POD-OUT -d 10.255.255.53/32 -p udp -m udp --dport 53 -j RETURN",
                "-A GPUFLEET-POD-OUT -d 169.254.0.0/16 -j REJECT", "-A GPUFLEET-POD-OUT -d 198.51.100.0/24 -j REJECT");
        // Replies first, then the resolver, then the refusals: order is what makes it right.
        assertThat(v4.indexOf("ESTABLISHED")).isLessThan(v4.indexOf("--dport 53"));
        assertThat(v4.indexOf("--dport 53")).isLessThan(v4.indexOf("-d 10.0.0.0/8"));
        assertThat(f.rules6()).contains("-A GPUFLEET-POD-OUT -j REJECT --reject-with icmp6-adm-prohibited");
    }

    @Test
    void aFailingToolLeavesTheHostRefusingPods() {
        List<List<String>> ran = new ArrayList<>();
        PodFirewall f = new PodFirewall(true, List.of(), List.of(), (c, in) -> {
            ran.add(c);
            return new PodFirewall.Tables.Result(4, "iptables-restore: unable to initialize table 'filter'");
        });
        assertThat(f.ensure().status()).isEqualTo("False");
        assertThat(f.condition().message()).contains("unable to initialize table");
        assertThatThrownBy(f::require).hasMessage("this host cannot isolate pod networks right now; the pod starts once it can");
        assertThat(new PodFirewall(false, List.of(), List.of(), (c, in) -> null).ensure().reason()).isEqualTo("Disabled");
    }

    @Test
    void aBridgeNameFitsLinuxAndIsTheTenants() {
        assertThat(PodFirewall.bridge("a-tenant-name-of-twenty-six")).hasSize(15).startsWith("gfp");
        assertThat(PodFirewall.bridge("a")).isNotEqualTo(PodFirewall.bridge("b"));
    }
}
