// MSBuild task compiled by RoslynCodeTaskFactory (see TorchSharpNativeFix.targets). It is built against
// netstandard2.0 reference assemblies, so it sticks to BinaryReader and plain arrays (no spans).
#nullable enable
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Text;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

namespace Concerto.Build
{
    /// <summary>
    /// Marks one version requirement (e.g. GLIBCXX_3.4.32) of ELF64 little-endian libraries as weak
    /// (VER_FLG_WEAK in its Elf64_Vernaux entry of .gnu.version_r), so the dynamic loader accepts a
    /// libstdc++ that lacks that version. Does nothing when the machine's libstdc++ defines the version
    /// or the flag is already set.
    /// </summary>
    public sealed class WeakenElfVersionNeed : Task
    {
        private const uint ShtGnuVerneed = 0x6ffffffe;
        private const ushort VerFlagWeak = 0x2;

        private static readonly string[] CommonLibstdcxxPaths =
        {
            "/usr/lib/x86_64-linux-gnu/libstdc++.so.6",
            "/lib/x86_64-linux-gnu/libstdc++.so.6",
            "/usr/lib64/libstdc++.so.6",
            "/lib64/libstdc++.so.6",
            "/usr/lib/libstdc++.so.6",
        };

        /// <summary>Copies in a build output folder; never a file in the NuGet cache.</summary>
        [Required]
        public ITaskItem[] Libraries { get; set; } = Array.Empty<ITaskItem>();

        [Required]
        public string VersionName { get; set; } = string.Empty;

        public override bool Execute()
        {
            string? systemLibrary = null;
            bool? systemHasVersion = null;

            foreach (var item in Libraries)
            {
                var path = item.GetMetadata("FullPath");
                try
                {
                    if (!TryFindVernauxFlags(path, VersionName, out var flagsOffset, out var flags) || (flags & VerFlagWeak) != 0)
                    {
                        continue; // No such requirement, or already patched.
                    }

                    if (systemHasVersion == null)
                    {
                        systemLibrary = FindLibstdcxx();
                        systemHasVersion = systemLibrary != null && FileContains(systemLibrary, Encoding.ASCII.GetBytes(VersionName + "\0"));
                    }

                    if (systemHasVersion == true)
                    {
                        return true; // This machine's libstdc++ satisfies the requirement as it is.
                    }

                    WriteFlags(path, flagsOffset, (ushort)(flags | VerFlagWeak));
                    Log.LogMessage(MessageImportance.High, "Marked {0} weak in {1} ({2} lacks it).",
                        VersionName, path, systemLibrary ?? "no libstdc++.so.6 found");
                }
                catch (Exception ex) when (ex is InvalidDataException || ex is IOException || ex is UnauthorizedAccessException)
                {
                    Log.LogError("Cannot mark {0} weak in '{1}': {2} Delete the file and rebuild; if that fails too, check the TorchSharp package and set TorchSharpNativeFix=false to build without this step.",
                        VersionName, path, ex.Message);
                    return false;
                }
            }

            return true;
        }

        // Walks .gnu.version_r: Elf64_Verneed entries (one per needed file), each with a chain of Elf64_Vernaux.
        private static bool TryFindVernauxFlags(string path, string versionName, out long flagsOffset, out ushort flags)
        {
            flagsOffset = 0;
            flags = 0;
            using (var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read))
            using (var reader = new BinaryReader(stream))
            {
                try
                {
                    var ident = reader.ReadBytes(16);
                    if (ident.Length < 16 || ident[0] != 0x7f || ident[1] != (byte)'E' || ident[2] != (byte)'L' || ident[3] != (byte)'F'
                        || ident[4] != 2 || ident[5] != 1)
                    {
                        throw new InvalidDataException("it is not a 64-bit little-endian ELF file.");
                    }

                    var sectionTable = (long)U64(reader, 0x28);
                    var entrySize = U16(reader, 0x3A);
                    long count = U16(reader, 0x3C);
                    if (sectionTable == 0)
                    {
                        return false;
                    }

                    if (count == 0)
                    {
                        count = (long)U64(reader, sectionTable + 0x20); // Extended numbering: sh_size of section 0.
                    }

                    for (long i = 0; i < count; i++)
                    {
                        var header = sectionTable + (i * entrySize);
                        if (U32(reader, header + 0x04) != ShtGnuVerneed)
                        {
                            continue;
                        }

                        var offset = (long)U64(reader, header + 0x18);
                        var entries = U32(reader, header + 0x2C);
                        var strings = sectionTable + (U32(reader, header + 0x28) * entrySize);
                        var stringsOffset = (long)U64(reader, strings + 0x18);
                        var stringsSize = (long)U64(reader, strings + 0x20);

                        var need = offset;
                        for (uint n = 0; n < entries; n++)
                        {
                            var auxCount = U16(reader, need + 2);
                            var aux = need + U32(reader, need + 8);
                            for (var a = 0; a < auxCount; a++)
                            {
                                var name = U32(reader, aux + 8);
                                if (name >= stringsSize)
                                {
                                    throw new InvalidDataException("a version name in .gnu.version_r points outside its string table.");
                                }

                                if (CStringEquals(reader, stringsOffset + name, versionName))
                                {
                                    flagsOffset = aux + 4;
                                    flags = U16(reader, flagsOffset);
                                    return true;
                                }

                                aux += U32(reader, aux + 12);
                            }

                            var next = U32(reader, need + 12);
                            if (next == 0)
                            {
                                break;
                            }

                            need += next;
                        }
                    }

                    return false;
                }
                catch (EndOfStreamException)
                {
                    throw new InvalidDataException("an ELF header or table runs past the end of the file (truncated copy?).");
                }
            }
        }

        // Writes a patched copy beside the file and renames it over the original: a hard or symbolic link
        // into the NuGet cache is replaced, never written through. The copy keeps the file mode and the
        // original timestamp, so MSBuild's incremental copy (same size and time as the package file) skips
        // it next build; when the package file changes, MSBuild copies it again and this runs again.
        private static void WriteFlags(string path, long flagsOffset, ushort flags)
        {
            var lastWrite = File.GetLastWriteTimeUtc(path);
            var temp = path + "." + Guid.NewGuid().ToString("N") + ".tmp";
            try
            {
                File.Copy(path, temp, overwrite: true);
                using (var stream = new FileStream(temp, FileMode.Open, FileAccess.Write, FileShare.None))
                {
                    stream.Position = flagsOffset;
                    stream.WriteByte((byte)(flags & 0xff));
                    stream.WriteByte((byte)(flags >> 8));
                }

                File.SetLastWriteTimeUtc(temp, lastWrite);
                File.Replace(temp, path, null);
            }
            finally
            {
                if (File.Exists(temp))
                {
                    File.Delete(temp);
                }
            }
        }

        // The libstdc++ the dynamic loader would pick: the ldconfig cache first, then the usual folders.
        private static string? FindLibstdcxx()
        {
            foreach (var candidate in LdconfigEntries())
            {
                if (File.Exists(candidate))
                {
                    return candidate;
                }
            }

            foreach (var candidate in CommonLibstdcxxPaths)
            {
                if (File.Exists(candidate))
                {
                    return candidate;
                }
            }

            return null;
        }

        private static List<string> LdconfigEntries()
        {
            var found = new List<string>();
            foreach (var ldconfig in new[] { "/sbin/ldconfig", "/usr/sbin/ldconfig", "/usr/bin/ldconfig" })
            {
                if (!File.Exists(ldconfig))
                {
                    continue;
                }

                var start = new ProcessStartInfo(ldconfig, "-p")
                {
                    RedirectStandardOutput = true,
                    UseShellExecute = false,
                    CreateNoWindow = true,
                };
                using (var process = Process.Start(start))
                {
                    if (process == null)
                    {
                        continue;
                    }

                    // Lines look like: "\tlibstdc++.so.6 (libc6,x86-64) => /lib/x86_64-linux-gnu/libstdc++.so.6".
                    string? line;
                    while ((line = process.StandardOutput.ReadLine()) != null)
                    {
                        var trimmed = line.Trim();
                        var arrow = trimmed.IndexOf(" => ", StringComparison.Ordinal);
                        if (arrow > 0 && trimmed.StartsWith("libstdc++.so.6 ", StringComparison.Ordinal) && trimmed.Contains("x86-64"))
                        {
                            found.Add(trimmed.Substring(arrow + 4));
                        }
                    }

                    process.WaitForExit();
                }

                break;
            }

            return found;
        }

        private static bool FileContains(string path, byte[] needle)
        {
            var data = File.ReadAllBytes(path);
            for (var i = 0; i + needle.Length <= data.Length; i++)
            {
                var j = 0;
                while (j < needle.Length && data[i + j] == needle[j])
                {
                    j++;
                }

                if (j == needle.Length)
                {
                    return true;
                }
            }

            return false;
        }

        private static bool CStringEquals(BinaryReader reader, long offset, string expected)
        {
            reader.BaseStream.Position = offset;
            var bytes = reader.ReadBytes(expected.Length + 1);
            if (bytes.Length != expected.Length + 1 || bytes[expected.Length] != 0)
            {
                return false;
            }

            for (var i = 0; i < expected.Length; i++)
            {
                if (bytes[i] != expected[i])
                {
                    return false;
                }
            }

            return true;
        }

        // BinaryReader reads little-endian on every host, which is what ELFDATA2LSB files hold.
        private static ushort U16(BinaryReader reader, long offset)
        {
            reader.BaseStream.Position = offset;
            return reader.ReadUInt16();
        }

        private static uint U32(BinaryReader reader, long offset)
        {
            reader.BaseStream.Position = offset;
            return reader.ReadUInt32();
        }

        private static ulong U64(BinaryReader reader, long offset)
        {
            reader.BaseStream.Position = offset;
            return reader.ReadUInt64();
        }
    }
}
