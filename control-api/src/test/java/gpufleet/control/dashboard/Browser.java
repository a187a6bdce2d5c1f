package gpufleet.control.dashboard;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import org.awaitility.Awaitility;
import org.awaitility.core.ConditionTimeoutException;
import org.openqa.selenium.By;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.StaleElementReferenceException;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.logging.LogType;
import org.openqa.selenium.logging.LoggingPreferences;

/**
 * Headless Chromium from Debian's packages, driven through Debian's chromedriver. Both are named
 * by path, so Selenium never looks for a browser or a driver of its own (nothing is downloaded).
 */
final class Browser implements AutoCloseable {
    static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");
    static final Path SCREENSHOTS = Path.of("target", "dashboard-screenshots");

    final String base;
    final ChromeDriver driver;

    Browser(int port) {
        for (Path p : List.of(CHROMIUM, CHROMEDRIVER)) {
            assertThat(Files.isExecutable(p)).as(p + " is missing: install it with 'bash dev/services.sh chromium'").isTrue();
        }
        this.base = "http://127.0.0.1:" + port;
        ChromeOptions options = new ChromeOptions();
        options.setBinary(CHROMIUM.toFile());
        // --no-sandbox: tests run as root in a container, where Chromium's sandbox cannot start.
        options.addArguments("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1400,1000", "--no-first-run", "--disable-extensions");
        LoggingPreferences logs = new LoggingPreferences();
        logs.enable(LogType.BROWSER, java.util.logging.Level.ALL);
        options.setCapability("goog:loggingPrefs", logs);
        ChromeDriverService service = new ChromeDriverService.Builder()
                .usingDriverExecutable(CHROMEDRIVER.toFile()).usingAnyFreePort().build();
        this.driver = new ChromeDriver(service, options);
    }

    void open(String path) {
        driver.get(base + path);
    }

    String path() {
        return driver.getCurrentUrl().substring(base.length());
    }

    /** Signs in through the login form; the caller checks where it landed. */
    void signIn(String token) {
        open("/dashboard/login");
        WebElement field = driver.findElement(By.id("token"));
        field.clear();
        field.sendKeys(token);
        submit(By.id("sign-in"));
    }

    /** Clicks a form's button and waits for the page it leads to (so its cookies are set). */
    void submit(By button) {
        WebElement before = driver.findElement(By.tagName("html"));
        driver.findElement(button).click();
        await(30, "the page after " + button, d -> {
            try {
                before.isEnabled();
                return false;
            } catch (StaleElementReferenceException gone) {
                return "complete".equals(driver.executeScript("return document.readyState"));
            }
        });
    }

    /** Waits up to {@code seconds} for {@code condition} to give something other than null or false. */
    <T> T await(int seconds, String what, Function<WebDriver, T> condition) {
        AtomicReference<T> found = new AtomicReference<>();
        try {
            Awaitility.await(what).atMost(Duration.ofSeconds(seconds)).pollInterval(Duration.ofMillis(200))
                    .ignoreExceptions().until(() -> {
                        T value = condition.apply(driver);
                        found.set(value);
                        return value != null && !Boolean.FALSE.equals(value);
                    });
        } catch (ConditionTimeoutException e) {
            throw new AssertionError("waited " + seconds + " s for " + what + " on " + path() + "; the page is in "
                    + screenshot("failed-" + what.replaceAll("[^a-zA-Z0-9]+", "-")) + "; browser console: "
                    + driver.manage().logs().get(LogType.BROWSER).getAll(), e);
        }
        return found.get();
    }

    List<WebElement> all(String css) {
        return driver.findElements(By.cssSelector(css));
    }

    Object script(String js, Object... args) {
        return driver.executeScript(js, args);
    }

    /** Keeps a screenshot of the page as it is, under target/dashboard-screenshots/. */
    Path screenshot(String name) {
        File shot = driver.getScreenshotAs(OutputType.FILE);
        try {
            Files.createDirectories(SCREENSHOTS);
            Path target = SCREENSHOTS.resolve(name + ".png");
            Files.copy(shot.toPath(), target, StandardCopyOption.REPLACE_EXISTING);
            return target;
        } catch (IOException e) {
            throw new IllegalStateException("cannot keep screenshot " + name, e);
        }
    }

    @Override
    public void close() {
        driver.quit();
    }
}
