package gpufleet.host.workload;

import com.fasterxml.jackson.core.type.TypeReference;
import gpufleet.common.Json;
import gpufleet.common.api.WorkloadSpec;
import gpufleet.host.runtime.ContainerRuntime;
import gpufleet.host.runtime.PullSecrets;
import gpufleet.host.runtime.RuntimeFailure;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Who may run an image this host has (Kubernetes' "ensure secret pulled images"). Docker keeps one
 * copy of an image for everyone; without this, an image pulled with tenant A's credentials would
 * run for tenant B, who has none. The agent records, per image ID, whether it was ever pulled
 * anonymously (then it is public) and which credentials pulled it (as keyed digests, never the
 * secrets themselves). A pod may use a present image only if it is public, if the pod's credential for
 * its registry is one that pulled it, or if the agent never pulled it (an image the operator put
 * on the host, such as the pause image). Anyone else gets a pull with their own credential (or
 * none), which the registry accepts or refuses: ErrImagePull. A pull that fails is a failure even
 * when an older copy is present. The record survives restarts; if it cannot be read, every
 * present image is verified again.
 */
final class ImageAccess {
    private static final Logger log = LoggerFactory.getLogger(ImageAccess.class);
    private static final String ANONYMOUS = "anonymous";

    private record Saved(String key, Map<String, Set<String>> images) {}

    private final ContainerRuntime runtime;
    private final Path file;
    private final byte[] key;
    /** Image ID → "anonymous" and/or digests of the credentials that pulled it. */
    private final Map<String, Set<String>> pulledBy;
    /** The record was lost: images this agent may have pulled cannot be told from the operator's. */
    private final boolean verifyAll;

    ImageAccess(ContainerRuntime runtime, Path stateDir) {
        this.runtime = runtime;
        this.file = stateDir.resolve("image-access.json");
        Saved saved = null;
        boolean lost = false;
        if (Files.exists(file)) {
            try {
                saved = Json.mapper().readValue(Files.readString(file), new TypeReference<Saved>() {});
            } catch (IOException | RuntimeException e) {
                log.error("{} cannot be read ({}); every present image will be verified with its pod's credentials", file, e.getMessage());
                lost = true;
            }
        }
        this.verifyAll = lost;
        this.key = saved == null || saved.key() == null ? newKey() : Base64.getDecoder().decode(saved.key());
        this.pulledBy = new HashMap<>();
        if (saved != null && saved.images() != null) {
            saved.images().forEach((id, by) -> pulledBy.put(id, new HashSet<>(by)));
        }
    }

    /** Makes the image ready for a pod with these pull secrets; true when it pulled. */
    boolean ensure(String image, String policy, List<WorkloadSpec.PullSecret> secrets, Runnable beforePull) throws RuntimeFailure {
        WorkloadSpec.PullSecret credential = PullSecrets.forImage(image, secrets);
        Optional<String> id = runtime.imageId(image);
        if (id.isPresent() && !policy.equals("Always") && mayUse(id.get(), credential)) {
            return false;
        }
        if (policy.equals("Never")) {
            throw new RuntimeFailure("ErrImageNeverPull", id.isEmpty()
                    ? "image " + image + " is not present and imagePullPolicy is Never"
                    : "image " + image + " was pulled with credentials this pod does not present, and imagePullPolicy is Never");
        }
        beforePull.run();
        Set<String> before = runtime.imageIds();
        runtime.pull(image, credential);
        String pulled = runtime.imageId(image)
                .orElseThrow(() -> new RuntimeFailure("ErrImagePull", "image " + image + " is not present after its pull"));
        // The same content already here and never pulled by this agent is the operator's, open to all: a
        // private copy of it protects nothing (image IDs are digests of the content).
        if (!before.contains(pulled) || isRecorded(pulled)) {
            record(pulled, credential == null ? ANONYMOUS : digest(credential));
        }
        return true;
    }

    private synchronized boolean isRecorded(String id) {
        return pulledBy.containsKey(id);
    }

    private synchronized boolean mayUse(String id, WorkloadSpec.PullSecret credential) {
        Set<String> by = pulledBy.get(id);
        if (by == null) {
            return !verifyAll;
        }
        return by.contains(ANONYMOUS) || (credential != null && by.contains(digest(credential)));
    }

    private synchronized void record(String id, String by) {
        if (!pulledBy.computeIfAbsent(id, k -> new HashSet<>()).add(by)) {
            return;
        }
        try {
            Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
            Files.createDirectories(file.getParent());
            Files.writeString(tmp, Json.mapper().writeValueAsString(new Saved(Base64.getEncoder().encodeToString(key), pulledBy)));
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            // Not kept: after a restart this image is verified again, which is safe.
            log.warn("cannot save {}: {}", file, e.getMessage());
        }
    }

    /** A keyed digest of the credential: the secret itself is never written down. */
    private String digest(WorkloadSpec.PullSecret s) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            String text = s.registry() + "\n" + s.username() + "\n" + s.password();
            return Base64.getEncoder().encodeToString(mac.doFinal(text.getBytes(StandardCharsets.UTF_8)));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is not available", e);
        }
    }

    private static byte[] newKey() {
        byte[] k = new byte[32];
        new SecureRandom().nextBytes(k);
        return k;
    }
}
