package gpufleet.gpuctl;

import java.io.PrintWriter;
import java.nio.charset.Charset;

/** gpuctl's entry point: runs the command line and exits with its code. */
public final class Main {
    private Main() {}

    public static void main(String[] args) {
        Charset cs = Charset.defaultCharset();
        int code = Gpuctl.execute(args, new PrintWriter(System.out, true, cs), new PrintWriter(System.err, true, cs), System.getenv());
        System.exit(code);
    }
}
