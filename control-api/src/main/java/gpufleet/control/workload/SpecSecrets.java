package gpufleet.control.workload;

import com.fasterxml.jackson.core.JsonProcessingException;
import gpufleet.common.Json;
import gpufleet.common.api.WorkloadSpec;
import gpufleet.common.api.WorkloadSpec.Container;
import gpufleet.common.api.WorkloadSpec.EnvVar;
import gpufleet.common.api.WorkloadSpec.FileMount;
import gpufleet.common.api.WorkloadSpec.PullSecret;
import gpufleet.control.config.SealKey;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BiFunction;

/**
 * A workload spec as it is stored: its secret material (every env value, every file's content,
 * the registry credentials) sealed with the operator's key, the rest in clear with those fields
 * emptied. The spec does not say which env values and files came from Secrets (the tenant-agent
 * resolves references before sending), so all of them are treated as secret.
 */
public final class SpecSecrets {
    private final SealKey key;

    public SpecSecrets(SealKey key) {
        this.key = key;
    }

    /** The stored form: {@code clear} has every secret field empty; {@code sealed} is null when it had none. */
    public record Split(WorkloadSpec clear, byte[] sealed) {}

    /** What is sealed: values by position (init containers, then containers, then entry), the spec's own order. */
    record Material(List<List<String>> env, List<List<String>> files, List<PullSecret> pull) {}

    /**
     * Binds a sealed value to its row: a tenant's pod UID names one workload row for good (it is
     * unique and never reused), so a value copied to another row does not open there.
     */
    static String context(String tenant, String podUid) {
        return "workloads.sealed_secrets of " + tenant + "/" + podUid;
    }

    public Split split(String tenant, WorkloadSpec spec) {
        Material m = new Material(
                spec.allContainers().stream().map(c -> c.env().stream().map(EnvVar::value).toList()).toList(),
                spec.allContainers().stream().map(c -> c.files().stream().map(FileMount::contentBase64).toList()).toList(),
                spec.imagePullSecrets());
        boolean any = !m.pull().isEmpty() || spec.allContainers().stream().anyMatch(c -> !c.env().isEmpty() || !c.files().isEmpty());
        if (!any) {
            return new Split(spec, null);
        }
        byte[] plain;
        try {
            plain = Json.mapper().writeValueAsBytes(m);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write the secrets of pod " + spec.podUid(), e);
        }
        WorkloadSpec clear = with(spec, (c, i) -> c.env().stream().map(e -> new EnvVar(e.name(), "")).toList(),
                (c, i) -> c.files().stream().map(f -> f.withContent("")).toList(),
                spec.imagePullSecrets().stream().map(p -> new PullSecret(p.registry(), "", "")).toList());
        return new Split(clear, key.seal(plain, context(tenant, spec.podUid())));
    }

    /**
     * The spec the host runs: the stored clear part with its sealed values put back.
     *
     * @throws SealKey.SealException when the configured keys cannot open it (the operator's to fix)
     */
    public WorkloadSpec open(String tenant, WorkloadSpec clear, byte[] sealed) {
        if (sealed == null) {
            return clear;
        }
        Material m;
        try {
            m = Json.mapper().readValue(key.open(sealed, context(tenant, clear.podUid())), Material.class);
        } catch (IOException e) {
            throw new IllegalStateException("sealed secrets of pod " + clear.podUid() + " are unreadable", e);
        }
        if (m.env().size() != clear.allContainers().size() || m.files().size() != clear.allContainers().size()
                || m.pull().size() != clear.imagePullSecrets().size()) {
            throw new IllegalStateException("sealed secrets of pod " + clear.podUid() + " do not match its stored spec");
        }
        return with(clear, (c, i) -> zip(c.env(), m.env().get(i), (e, v) -> new EnvVar(e.name(), v)),
                (c, i) -> zip(c.files(), m.files().get(i), (f, v) -> f.withContent(v)), m.pull());
    }

    private static <T> List<T> zip(List<T> entries, List<String> values, BiFunction<T, String, T> put) {
        if (entries.size() != values.size()) {
            throw new IllegalStateException("sealed secrets do not match the stored spec");
        }
        List<T> out = new ArrayList<>(entries.size());
        for (int i = 0; i < entries.size(); i++) {
            out.add(put.apply(entries.get(i), values.get(i)));
        }
        return out;
    }

    private interface PerContainer<T> {
        List<T> apply(Container c, int index);
    }

    /** Every other field of the pod and its containers kept as it is: a spec loses nothing by being stored. */
    private static WorkloadSpec with(WorkloadSpec s, PerContainer<EnvVar> env, PerContainer<FileMount> files, List<PullSecret> pull) {
        List<Container> all = new ArrayList<>();
        for (int i = 0; i < s.allContainers().size(); i++) {
            Container c = s.allContainers().get(i);
            all.add(c.with(env.apply(c, i), files.apply(c, i)));
        }
        int init = s.initContainers().size();
        return s.with(all.subList(0, init), all.subList(init, all.size()), pull);
    }
}
