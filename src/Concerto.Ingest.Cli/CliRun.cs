using Concerto.Ingest.Core.Datasets.Filter;
using Concerto.Ingest.Core.Media;
using Concerto.Ingest.Core.Profiles;
using Microsoft.Extensions.Logging;
using Npgsql;
using Spectre.Console;

namespace Concerto.Ingest.Cli;

/// <summary>Runs a command body, turning the errors a user can fix into one clear line and exit code 1.</summary>
public static class CliRun
{
    public static async Task<int> GuardAsync(Func<Task<int>> body)
    {
        ArgumentNullException.ThrowIfNull(body);
        try
        {
            return await body().ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            CliOutput.Error.MarkupLine("[yellow]Cancelled.[/]");
            return 130;
        }
        catch (FilterException e)
        {
            // Not through Spectre: its line wrapping would move the caret away from the text it points at.
            await System.Console.Error.WriteLineAsync("error: " + e.Message).ConfigureAwait(false);
            return 1;
        }
        catch (Exception e) when (e is ProfileException or Jobs.Hosting.InvalidSettingsException or BadInputException or ArgumentException or IOException or InvalidOperationException or NpgsqlException
                                       or KeyNotFoundException or InvalidDataException
                                       or Train.Data.BackgroundLoaderException { InnerException: IOException or InvalidDataException })
        {
            CliOutput.Error.MarkupLineInterpolated($"[red]error:[/] {e.Message}");
            return 1;
        }
    }

    /// <summary>The hosts' console logging (<see cref="Jobs.Hosting.HostLogging"/>): stderr, warnings unless verbose.</summary>
    public static void ConfigureLogging(ILoggingBuilder logging, bool verbose) => Jobs.Hosting.HostLogging.Configure(logging, verbose);

    public static ILoggerFactory CreateLoggers(bool verbose) => LoggerFactory.Create(b => ConfigureLogging(b, verbose));

    /// <summary>Loggers at the command line's -v.</summary>
    public static ILoggerFactory CreateLoggers() => CreateLoggers(CliOutput.IsVerbose);
}
