namespace Concerto.Ingest.Storage;

/// <summary>Where state lives. Bound from the "Concerto" configuration section (and ConnectionStrings:Concerto).</summary>
public sealed class StorageOptions
{
    public const string Section = "Concerto";

    /// <summary>A PostgreSQL connection string. Empty: run a private cluster in <see cref="StateDirectory"/>.</summary>
    public string? ConnectionString { get; set; }

    /// <summary>Folder for the embedded cluster and default artifacts. Empty: /var/lib/concerto as root, else
    /// $XDG_STATE_HOME/concerto (~/.local/state/concerto).</summary>
    public string? StateDirectory { get; set; }

    /// <summary>Artifact store root folder (a shared mount for several machines). Empty: StateDirectory/artifacts.</summary>
    public string? ArtifactRoot { get; set; }

    /// <summary>An S3-compatible bucket for artifacts ("Concerto:S3"); used instead of <see cref="ArtifactRoot"/> when it
    /// names a bucket, so workers on several machines share artifacts without a shared mount.</summary>
    public Artifacts.S3ArtifactOptions S3 { get; set; } = new();

    /// <summary>Folder holding initdb and pg_ctl. Empty: the newest /usr/lib/postgresql/*/bin, else PATH.</summary>
    public string? PostgresBinDirectory { get; set; }

    public string ResolveStateDirectory()
    {
        if (!string.IsNullOrWhiteSpace(StateDirectory)) return Path.GetFullPath(StateDirectory);
        if (Environment.IsPrivilegedProcess) return "/var/lib/concerto";
        var xdg = Environment.GetEnvironmentVariable("XDG_STATE_HOME");
        var root = string.IsNullOrEmpty(xdg)
            ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".local", "state")
            : xdg;
        return Path.Combine(root, "concerto");
    }

    public string ResolveArtifactRoot() =>
        !string.IsNullOrWhiteSpace(ArtifactRoot) ? Path.GetFullPath(ArtifactRoot) : Path.Combine(ResolveStateDirectory(), "artifacts");
}
