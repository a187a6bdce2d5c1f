package gpufleet.control.ops;

import io.javalin.config.RoutesConfig;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;

/** Serves the OpenAPI document (a test keeps it equal to the routes the server really has). */
public final class OpenApiRoutes {
    public static final String RESOURCE = "/openapi.json";

    private OpenApiRoutes() {}

    public static void install(RoutesConfig routes) {
        byte[] doc = load();
        routes.get("/openapi.json", ctx -> ctx.contentType("application/json").result(doc));
    }

    public static byte[] load() {
        try (InputStream in = OpenApiRoutes.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException("openapi.json is missing from the jar");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
