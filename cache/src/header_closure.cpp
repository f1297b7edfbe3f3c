// Finds every template header a root header can reach through #include, by root-relative path, for the key.
// Conservative by design: both branches of #if are followed, so the closure never misses a header that can be
// included; a header it lists needlessly costs at most a spurious miss.
#include "marlin_jit/cache/header_closure.hpp"

#include <map>
#include <set>
#include <string_view>

#include "marlin_jit/cache/kernel_key.hpp"

namespace marlin_jit::cache {
namespace {

// The text with every comment replaced by a space (newlines kept, so lines stay lines). String and character
// literals are copied as they are, so "http://x" is not a comment. A ' after a letter or digit is a digit
// separator (1'000), not a character literal.
std::string strip_comments(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  const std::size_t n = text.size();
  auto is_word = [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
  };
  while (i < n) {
    char c = text[i];
    if (c == '/' && i + 1 < n && text[i + 1] == '/') {
      // A line comment ends at a newline that is not escaped by a backslash.
      i += 2;
      while (i < n && text[i] != '\n') {
        if (text[i] == '\\' && i + 1 < n && text[i + 1] == '\n') ++i;
        ++i;
      }
      out.push_back(' ');
    } else if (c == '/' && i + 1 < n && text[i + 1] == '*') {
      i += 2;
      while (i < n && !(text[i] == '*' && i + 1 < n && text[i + 1] == '/')) {
        if (text[i] == '\n') out.push_back('\n');
        ++i;
      }
      i = (i < n) ? i + 2 : n;
      out.push_back(' ');
    } else if (c == '"' || (c == '\'' && !(i > 0 && is_word(text[i - 1])))) {
      out.push_back(c);
      ++i;
      while (i < n && text[i] != c && text[i] != '\n') {
        if (text[i] == '\\' && i + 1 < n) out.push_back(text[i++]);
        out.push_back(text[i++]);
      }
      if (i < n && text[i] == c) out.push_back(text[i++]);
    } else {
      out.push_back(c);
      ++i;
    }
  }
  return out;
}

struct IncludeLine {
  std::string name;
  bool angled = false;
  bool computed = false;  // #include MACRO: name holds the text as written
};

std::vector<IncludeLine> find_includes(std::string_view source) {
  const std::string text = strip_comments(source);
  std::vector<IncludeLine> includes;
  std::size_t line_start = 0;
  while (line_start < text.size()) {
    std::size_t line_end = text.find('\n', line_start);
    if (line_end == std::string::npos) line_end = text.size();
    std::string_view line(text.data() + line_start, line_end - line_start);
    line_start = line_end + 1;

    auto skip_blanks = [&line](std::size_t pos) {
      while (pos < line.size() && (line[pos] == ' ' || line[pos] == '\t' || line[pos] == '\r')) ++pos;
      return pos;
    };
    std::size_t pos = skip_blanks(0);
    if (pos >= line.size() || line[pos] != '#') continue;
    pos = skip_blanks(pos + 1);
    constexpr std::string_view kInclude = "include";
    if (line.substr(pos, kInclude.size()) != kInclude) continue;
    pos += kInclude.size();
    if (pos < line.size() && line[pos] != ' ' && line[pos] != '\t' && line[pos] != '"' && line[pos] != '<') {
      continue;  // #include_next, #includes, ...
    }
    pos = skip_blanks(pos);
    if (pos >= line.size()) continue;
    const char open = line[pos];
    if (open == '"' || open == '<') {
      const char close = (open == '"') ? '"' : '>';
      const std::size_t end = line.find(close, pos + 1);
      if (end == std::string_view::npos || end == pos + 1) continue;  // malformed: the compiler will say so
      includes.push_back({std::string(line.substr(pos + 1, end - pos - 1)), open == '<', false});
    } else {
      std::size_t end = line.size();
      while (end > pos && (line[end - 1] == ' ' || line[end - 1] == '\t' || line[end - 1] == '\r')) --end;
      includes.push_back({std::string(line.substr(pos, end - pos)), false, true});
    }
  }
  return includes;
}

// "a/./b/../c.cuh" -> "a/c.cuh"; nullopt for an absolute path or one that climbs out of the root.
std::optional<std::string> normalize(std::string_view path) {
  if (path.empty() || path.front() == '/') return std::nullopt;
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    std::string_view part = path.substr(start, end - start);
    start = end + 1;
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      if (parts.empty()) return std::nullopt;
      parts.pop_back();
    } else {
      parts.push_back(part);
    }
  }
  if (parts.empty()) return std::nullopt;
  std::string out;
  for (auto part : parts) {
    if (!out.empty()) out.push_back('/');
    out.append(part);
  }
  return out;
}

std::string folder_of(const std::string& path) {
  const std::size_t slash = path.rfind('/');
  return slash == std::string::npos ? std::string() : path.substr(0, slash + 1);
}

// Reads each root-relative path at most once, remembering misses too.
class MemoReader {
 public:
  explicit MemoReader(const HeaderReader& read) : read_(read) {}
  const std::optional<std::string>& get(const std::string& path) {
    auto it = seen_.find(path);
    if (it == seen_.end()) it = seen_.emplace(path, read_(path)).first;
    return it->second;
  }

 private:
  const HeaderReader& read_;
  std::map<std::string, std::optional<std::string>> seen_;
};

}  // namespace

HeaderClosure include_closure(const std::string& root_header, const HeaderReader& read) {
  MemoReader reader(read);
  std::map<std::string, std::string> found;  // path -> content; sorted by path
  std::set<std::string> unresolved;
  std::vector<std::string> pending;

  auto root = normalize(root_header);
  if (root && reader.get(*root)) {
    found.emplace(*root, *reader.get(*root));
    pending.push_back(*root);
  } else {
    unresolved.insert(root_header);
  }

  while (!pending.empty()) {
    const std::string current = std::move(pending.back());
    pending.pop_back();
    const std::string folder = folder_of(current);
    for (const IncludeLine& include : find_includes(found.at(current))) {
      if (include.computed) {
        unresolved.insert(include.name);
        continue;
      }
      // The preprocessor's order: "x" from the including folder first, <x> from the include root first.
      std::vector<std::string> candidates;
      if (include.angled) candidates = {include.name, folder + include.name};
      else candidates = {folder + include.name, include.name};

      std::optional<std::string> resolved;
      for (const std::string& candidate : candidates) {
        if (include.name.front() == '/') break;
        auto path = normalize(candidate);
        if (path && reader.get(*path)) {
          resolved = std::move(path);
          break;
        }
      }
      if (!resolved) {
        unresolved.insert(include.name);
      } else if (found.emplace(*resolved, *reader.get(*resolved)).second) {
        pending.push_back(*resolved);
      }
    }
  }

  HeaderClosure closure;
  closure.headers.assign(found.begin(), found.end());
  closure.unresolved.assign(unresolved.begin(), unresolved.end());
  return closure;
}

void add_closure_to_key(const HeaderClosure& closure, KeyBuilder& key) {
  key.add("header_count", static_cast<std::int64_t>(closure.headers.size()));
  for (const auto& [path, content] : closure.headers) {
    key.add("header_path", path);
    key.add("header_content", content);
  }
  key.add("unresolved_count", static_cast<std::int64_t>(closure.unresolved.size()));
  for (const auto& name : closure.unresolved) key.add("unresolved_include", name);
}

}  // namespace marlin_jit::cache
