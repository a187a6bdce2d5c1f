package gpufleet.control;

import gpufleet.common.LogSettings;
import gpufleet.control.config.ControlApiConfig;

/** Starts the control-api from GPUFLEET_* environment variables (and GPUFLEET_CONFIG, a properties file). */
public final class Main {
    private Main() {}

    public static void main(String[] args) {
        ControlApiConfig config;
        try {
            LogSettings.apply(System.getenv());
            config = ControlApiConfig.fromEnvironment(System.getenv());
        } catch (IllegalArgumentException e) {
            System.err.println(e.getMessage());
            System.exit(2);
            return;
        }
        ControlApi api = ControlApi.start(config);
        if (api.firstOperatorToken() != null) {
            System.out.println("""
                    
                    First operator token (shown once; store it now, it cannot be shown again):
                      %s
                    """.formatted(api.firstOperatorToken()));
        }
        Runtime.getRuntime().addShutdownHook(new Thread(api::close, "shutdown"));
    }
}
