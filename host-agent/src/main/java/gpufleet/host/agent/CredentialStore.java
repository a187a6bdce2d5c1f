package gpufleet.host.agent;

import gpufleet.common.Json;
import gpufleet.common.api.RegisteredHost;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;

/** The host's credential in the state directory, readable by the agent's user only (0600). */
public final class CredentialStore {
    private final Path file;

    public CredentialStore(Path stateDir) {
        this.file = stateDir.resolve("credential.json");
    }

    public RegisteredHost load() {
        if (!Files.exists(file)) {
            return null;
        }
        try {
            return Json.mapper().readValue(file.toFile(), RegisteredHost.class);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file + " (delete it to register again): " + e.getMessage(), e);
        }
    }

    /** Written to a temporary file with 0600 first, then moved into place: never half-written, never world-readable. */
    public void save(RegisteredHost host) {
        try {
            Files.createDirectories(file.getParent(), PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            Path tmp = Files.createTempFile(file.getParent(), "credential", ".tmp",
                    PosixFilePermissions.asFileAttribute(Set.of(java.nio.file.attribute.PosixFilePermission.OWNER_READ,
                            java.nio.file.attribute.PosixFilePermission.OWNER_WRITE)));
            Files.write(tmp, Json.mapper().writeValueAsBytes(host));
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file + ": " + e.getMessage(), e);
        }
    }

    public void delete() {
        try {
            Files.deleteIfExists(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public Path file() {
        return file;
    }
}
