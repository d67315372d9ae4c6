namespace Concerto.Ingest.Server.Access;

/// <summary>Who may use `concerto serve` (configuration section Concerto:Server, e.g. Concerto__Server__Token). Requests
/// from this machine are let in; requests from elsewhere only with a configured credential, and refused outright
/// while none is configured, so the server is never open to the network.</summary>
public sealed class ServerAccessOptions
{
    public const string Section = "Concerto:Server";

    /// <summary>A bearer token for remote clients (`Authorization: Bearer TOKEN`).</summary>
    public string? Token { get; set; }

    /// <summary>Basic credentials for remote browsers; both must be set.</summary>
    public string? User { get; set; }

    public string? Password { get; set; }

    /// <summary>Ask local requests for credentials too: needed behind a reverse proxy on this machine, whose requests
    /// all arrive from loopback.</summary>
    public bool RequireCredentialsLocally { get; set; }

    public bool HasBasic => !string.IsNullOrEmpty(User) && !string.IsNullOrEmpty(Password);

    public bool HasToken => !string.IsNullOrEmpty(Token);

    /// <summary>Refuses half-configured credentials and a proxy setting with none to check.</summary>
    public void Validate()
    {
        if (string.IsNullOrEmpty(User) != string.IsNullOrEmpty(Password))
            throw new ArgumentException("Concerto:Server:User and Concerto:Server:Password must be set together (basic credentials for remote access).");
        if (RequireCredentialsLocally && !HasToken && !HasBasic)
            throw new ArgumentException("Concerto:Server:RequireCredentialsLocally is set but no Token or User/Password is configured: nobody could get in.");
    }
}
