package gpufleet.gpuctl.config;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import gpufleet.gpuctl.Exit;
import gpufleet.gpuctl.Failure;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * gpuctl's configuration file, shaped like a kubeconfig: named contexts (a server and a token)
 * and the current one. Written readable by its owner only, since it holds tokens.
 */
public final class ConfigFile {
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory().disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER))
            .setDefaultPropertyInclusion(JsonInclude.Include.NON_NULL)
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

    /** One place to talk to: a control-api and the operator token to use there. */
    public record Context(String name, String server, String token) {}

    record Document(@JsonProperty("current-context") String currentContext, List<Context> contexts) {}

    private final Path path;
    private String currentContext;
    private final List<Context> contexts;

    private ConfigFile(Path path, String currentContext, List<Context> contexts) {
        this.path = path;
        this.currentContext = currentContext;
        this.contexts = new ArrayList<>(contexts);
    }

    /** The file at {@code path}; a missing file is an empty configuration. */
    public static ConfigFile load(Path path) {
        if (!Files.exists(path)) {
            return new ConfigFile(path, null, List.of());
        }
        try {
            Document d = YAML.readValue(path.toFile(), Document.class);
            if (d == null) {
                return new ConfigFile(path, null, List.of());
            }
            List<Context> contexts = d.contexts() == null ? List.of() : d.contexts();
            for (Context c : contexts) {
                if (c == null || c.name() == null || c.name().isBlank()) {
                    throw new Failure(Exit.USAGE, "config file " + path + ": every context needs a name");
                }
            }
            return new ConfigFile(path, d.currentContext(), contexts);
        } catch (IOException e) {
            throw new Failure(Exit.USAGE, "config file " + path + " is not valid YAML: " + e.getMessage());
        }
    }

    public Path path() {
        return path;
    }

    public Optional<String> currentContext() {
        return Optional.ofNullable(currentContext);
    }

    public List<Context> contexts() {
        return List.copyOf(contexts);
    }

    public Optional<Context> context(String name) {
        return contexts.stream().filter(c -> c.name().equals(name)).findFirst();
    }

    public void useContext(String name) {
        if (context(name).isEmpty()) {
            throw new Failure(Exit.NOT_FOUND, "no context named " + name + " in " + path);
        }
        currentContext = name;
    }

    /** Adds the context or changes it; a field left null keeps its old value. */
    public void setContext(Context changed) {
        Context old = context(changed.name()).orElse(new Context(changed.name(), null, null));
        Context merged = new Context(changed.name(), changed.server() != null ? changed.server() : old.server(),
                changed.token() != null ? changed.token() : old.token());
        contexts.removeIf(c -> c.name().equals(changed.name()));
        contexts.add(merged);
        if (currentContext == null) {
            currentContext = changed.name();
        }
    }

    public void save() {
        try {
            Path dir = path.toAbsolutePath().getParent();
            if (dir != null) {
                Files.createDirectories(dir);
            }
            Path tmp = Files.createTempFile(dir, ".gpuctl-config", ".tmp");
            Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rw-------"));
            YAML.writeValue(tmp.toFile(), new Document(currentContext, contexts));
            Files.move(tmp, path, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new Failure(Exit.FAILED, "cannot write config file " + path + ": " + e.getMessage());
        }
    }
}
