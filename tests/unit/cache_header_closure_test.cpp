// include_closure: which headers a kernel's key covers. Nested and relative includes, `..`, cycles, comments,
// toolkit headers, and the property that matters: an edit two includes deep changes the key, an unrelated
// header stays out of it.
#include "marlin_jit/cache/header_closure.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "marlin_jit/cache/kernel_key.hpp"
#include "temp_cache_dir.hpp"

using marlin_jit::cache::add_closure_to_key;
using marlin_jit::cache::HeaderClosure;
using marlin_jit::cache::include_closure;
using marlin_jit::cache::KeyBuilder;
namespace fs = std::filesystem;

namespace {

using Files = std::map<std::string, std::string>;

marlin_jit::cache::HeaderReader reader_of(const Files& files, int* calls = nullptr) {
  return [&files, calls](const std::string& path) -> std::optional<std::string> {
    if (calls) ++*calls;
    auto it = files.find(path);
    if (it == files.end()) return std::nullopt;
    return it->second;
  };
}

std::vector<std::string> paths_of(const HeaderClosure& closure) {
  std::vector<std::string> paths;
  for (const auto& [path, content] : closure.headers) paths.push_back(path);
  return paths;
}

using Paths = std::vector<std::string>;

}  // namespace

TEST(IncludeClosure, FollowsNestedIncludesAndListsTheRootToo) {
  const Files files = {
      {"entry/gemm.cuh", "#include \"marlin_jit/gemm/mainloop.cuh\"\n"},
      {"marlin_jit/gemm/mainloop.cuh", "#include \"marlin_jit/common/ptx.cuh\"\nint x;\n"},
      {"marlin_jit/common/ptx.cuh", "// leaf\n"},
  };
  const auto closure = include_closure("entry/gemm.cuh", reader_of(files));
  EXPECT_EQ(paths_of(closure), (Paths{"entry/gemm.cuh", "marlin_jit/common/ptx.cuh", "marlin_jit/gemm/mainloop.cuh"}));
  EXPECT_EQ(closure.headers[2].second, files.at("marlin_jit/gemm/mainloop.cuh"));
  EXPECT_TRUE(closure.unresolved.empty());
}

TEST(IncludeClosure, QuotedIncludeResolvesInTheIncludingFolderBeforeTheRoot) {
  const Files files = {
      {"gemm/a.cuh", "#include \"b.cuh\"\n"},
      {"gemm/b.cuh", "// the neighbour\n"},
      {"b.cuh", "// the root one, not included\n"},
  };
  EXPECT_EQ(paths_of(include_closure("gemm/a.cuh", reader_of(files))), (Paths{"gemm/a.cuh", "gemm/b.cuh"}));
}

TEST(IncludeClosure, QuotedIncludeFallsBackToTheTemplateRoot) {
  const Files files = {
      {"gemm/a.cuh", "#include \"common/x.cuh\"\n"},
      {"common/x.cuh", "#include \"y.cuh\"\n"},  // found beside x.cuh
      {"common/y.cuh", ""},
  };
  EXPECT_EQ(paths_of(include_closure("gemm/a.cuh", reader_of(files))),
            (Paths{"common/x.cuh", "common/y.cuh", "gemm/a.cuh"}));
}

TEST(IncludeClosure, AngledIncludeResolvesAtTheRootBeforeTheIncludingFolder) {
  const Files files = {
      {"gemm/a.cuh", "#include <b.cuh>\n#include <only_here.cuh>\n"},
      {"gemm/b.cuh", ""},
      {"b.cuh", ""},
      {"gemm/only_here.cuh", ""},
  };
  EXPECT_EQ(paths_of(include_closure("gemm/a.cuh", reader_of(files))),
            (Paths{"b.cuh", "gemm/a.cuh", "gemm/only_here.cuh"}));
}

TEST(IncludeClosure, DotAndDotDotAreNormalisedSoEachHeaderAppearsOnce) {
  const Files files = {
      {"entry/k.cuh", "#include \"../common/x.cuh\"\n#include \"./../common//x.cuh\"\n#include \"common/x.cuh\"\n"
                      "#include \"../gemm/../common/x.cuh\"\n"},
      {"common/x.cuh", "#include \"../entry/k.cuh\"\n"},
  };
  int calls = 0;
  const auto closure = include_closure("./entry/k.cuh", reader_of(files, &calls));
  EXPECT_EQ(paths_of(closure), (Paths{"common/x.cuh", "entry/k.cuh"}));
  EXPECT_TRUE(closure.unresolved.empty());
}

TEST(IncludeClosure, CyclesAndSelfIncludesTerminate) {
  const Files files = {
      {"a.cuh", "#pragma once\n#include \"b.cuh\"\n#include \"a.cuh\"\n"},
      {"b.cuh", "#pragma once\n#include \"c.cuh\"\n"},
      {"c.cuh", "#pragma once\n#include \"a.cuh\"\n#include \"b.cuh\"\n"},
  };
  EXPECT_EQ(paths_of(include_closure("a.cuh", reader_of(files))), (Paths{"a.cuh", "b.cuh", "c.cuh"}));
}

TEST(IncludeClosure, ReadsEachPathAtMostOnce) {
  Files files = {{"root.cuh", ""}};
  for (int i = 0; i < 20; ++i) {
    files["root.cuh"] += "#include \"h" + std::to_string(i) + ".cuh\"\n#include <cuda_fp16.h>\n";
    files["h" + std::to_string(i) + ".cuh"] = "#include \"root.cuh\"\n#include \"h0.cuh\"\n#include <cuda_fp16.h>\n";
  }
  int calls = 0;
  const auto closure = include_closure("root.cuh", reader_of(files, &calls));
  EXPECT_EQ(closure.headers.size(), 21u);
  EXPECT_EQ(calls, 22);  // 21 headers and one miss for cuda_fp16.h
}

TEST(IncludeClosure, IgnoresIncludesInsideComments) {
  const Files files = {
      {"root.cuh",
       "// #include \"line_comment.cuh\"\n"
       "/* #include \"block_comment.cuh\"\n"
       "   #include \"still_in_block.cuh\" */\n"
       "int a; /* inline */ #include \"after_inline_comment.cuh\"\n"
       "const char* url = \"http://example.com\"; // #include \"after_string.cuh\"\n"
       "int million = 1'000'000; // #include \"after_digit_separator.cuh\"\n"
       "// continued comment \\\n"
       "#include \"continued_line_comment.cuh\"\n"
       "/**/#include \"real.cuh\"\n"},
      {"line_comment.cuh", ""},
      {"block_comment.cuh", ""},
      {"still_in_block.cuh", ""},
      {"after_inline_comment.cuh", ""},
      {"after_string.cuh", ""},
      {"after_digit_separator.cuh", ""},
      {"continued_line_comment.cuh", ""},
      {"real.cuh", ""},
  };
  EXPECT_EQ(paths_of(include_closure("root.cuh", reader_of(files))), (Paths{"real.cuh", "root.cuh"}));
}

TEST(IncludeClosure, AcceptsLeadingWhitespaceAndSpaceAfterTheHash) {
  const Files files = {
      {"root.cuh", "   #include \"a.cuh\"\n\t#\tinclude<b.cuh>\n#  include   \"c.cuh\"  // trailing\r\n"
                   "  # include_next \"not_an_include.cuh\"\n#includes \"nor_this.cuh\"\n"},
      {"a.cuh", ""}, {"b.cuh", ""}, {"c.cuh", ""}, {"not_an_include.cuh", ""}, {"nor_this.cuh", ""},
  };
  EXPECT_EQ(paths_of(include_closure("root.cuh", reader_of(files))), (Paths{"a.cuh", "b.cuh", "c.cuh", "root.cuh"}));
}

TEST(IncludeClosure, FollowsBothBranchesOfConditionals) {
  const Files files = {
      {"root.cuh", "#if __CUDA_ARCH__ >= 900\n#include \"sm90.cuh\"\n#else\n#include \"sm80.cuh\"\n#endif\n"
                   "#if 0\n#include \"disabled.cuh\"\n#endif\n"},
      {"sm90.cuh", ""}, {"sm80.cuh", ""}, {"disabled.cuh", ""},
  };
  EXPECT_EQ(paths_of(include_closure("root.cuh", reader_of(files))),
            (Paths{"disabled.cuh", "root.cuh", "sm80.cuh", "sm90.cuh"}));
}

TEST(IncludeClosure, ToolkitHeadersAreListedAsUnresolved) {
  const Files files = {
      {"root.cuh", "#include <cuda_fp16.h>\n#include <cuda/std/cstdint>\n#include \"mine.cuh\"\n"},
      {"mine.cuh", "#include <cuda_fp16.h>\n#include \"cuda_bf16.h\"\n"},
  };
  const auto closure = include_closure("root.cuh", reader_of(files));
  EXPECT_EQ(paths_of(closure), (Paths{"mine.cuh", "root.cuh"}));
  EXPECT_EQ(closure.unresolved, (Paths{"cuda/std/cstdint", "cuda_bf16.h", "cuda_fp16.h"}));
}

TEST(IncludeClosure, IncludesLeavingTheRootOrAbsoluteAreUnresolvedNeverRead) {
  std::vector<std::string> asked;
  const Files files = {{"gemm/root.cuh", "#include \"../../outside.cuh\"\n#include \"/usr/include/stdio.h\"\n"
                                         "#include KERNEL_HEADER\n"}};
  auto reader = [&](const std::string& path) -> std::optional<std::string> {
    asked.push_back(path);
    auto it = files.find(path);
    return it == files.end() ? std::nullopt : std::optional<std::string>(it->second);
  };
  const auto closure = include_closure("gemm/root.cuh", reader);
  EXPECT_EQ(closure.unresolved, (Paths{"../../outside.cuh", "/usr/include/stdio.h", "KERNEL_HEADER"}));
  for (const auto& path : asked) {
    EXPECT_NE(path.front(), '/') << path;
    EXPECT_EQ(path.find(".."), std::string::npos) << path;
  }
}

TEST(IncludeClosure, MissingRootHeaderIsReportedUnresolved) {
  const Files files;
  const auto closure = include_closure("entry/missing.cuh", reader_of(files));
  EXPECT_TRUE(closure.headers.empty());
  EXPECT_EQ(closure.unresolved, (Paths{"entry/missing.cuh"}));
}

// The scenario the key exists for, on real files: a kernel whose root includes mid.cuh, which includes
// deep.cuh. Editing deep.cuh must change the key; editing a header nobody includes must not.
TEST(IncludeClosure, EditingAHeaderTwoIncludesDeepChangesTheKeyAndAnUnrelatedHeaderIsNotInIt) {
  marlin_jit::test::TempCacheDir templates;
  marlin_jit::test::write_bytes(templates / "marlin_jit/entry/kernel.cuh", "#include \"../gemm/mid.cuh\"\n");
  marlin_jit::test::write_bytes(templates / "marlin_jit/gemm/mid.cuh", "#include \"marlin_jit/common/deep.cuh\"\n");
  marlin_jit::test::write_bytes(templates / "marlin_jit/common/deep.cuh", "constexpr int kTile = 64;\n");
  marlin_jit::test::write_bytes(templates / "marlin_jit/common/unrelated.cuh", "constexpr int kOther = 1;\n");
  const fs::path root = templates.path();
  auto reader = [&root](const std::string& path) -> std::optional<std::string> {
    if (!fs::is_regular_file(root / path)) return std::nullopt;
    const auto bytes = marlin_jit::test::read_bytes(root / path);
    return std::string(bytes.begin(), bytes.end());
  };
  auto key_now = [&] {
    KeyBuilder key;
    const auto closure = include_closure("marlin_jit/entry/kernel.cuh", reader);
    add_closure_to_key(closure, key);
    return std::make_pair(key.finish(), closure);
  };

  const auto [before, closure] = key_now();
  EXPECT_EQ(paths_of(closure), (Paths{"marlin_jit/common/deep.cuh", "marlin_jit/entry/kernel.cuh",
                                      "marlin_jit/gemm/mid.cuh"}));
  for (const auto& path : paths_of(closure)) EXPECT_FALSE(fs::path(path).is_absolute());

  marlin_jit::test::write_bytes(templates / "marlin_jit/common/unrelated.cuh", "constexpr int kOther = 2;\n");
  EXPECT_EQ(key_now().first, before);

  marlin_jit::test::write_bytes(templates / "marlin_jit/common/deep.cuh", "constexpr int kTile = 128;\n");
  const auto after = key_now().first;
  EXPECT_NE(after, before);

  // Moving the whole tree elsewhere changes nothing: only root-relative paths are keyed.
  marlin_jit::test::TempCacheDir moved;
  fs::copy(root / "marlin_jit", moved / "marlin_jit", fs::copy_options::recursive);
  const fs::path moved_root = moved.path();
  KeyBuilder moved_key;
  add_closure_to_key(include_closure("marlin_jit/entry/kernel.cuh",
                                     [&moved_root](const std::string& path) -> std::optional<std::string> {
                                       if (!fs::is_regular_file(moved_root / path)) return std::nullopt;
                                       const auto bytes = marlin_jit::test::read_bytes(moved_root / path);
                                       return std::string(bytes.begin(), bytes.end());
                                     }),
                     moved_key);
  EXPECT_EQ(moved_key.finish(), after);
}

TEST(IncludeClosure, AddingItToAKeyDescribesEveryHeader) {
  const Files files = {{"root.cuh", "#include \"a.cuh\"\n#include <cuda_fp16.h>\n"}, {"a.cuh", "x"}};
  KeyBuilder key;
  add_closure_to_key(include_closure("root.cuh", reader_of(files)), key);
  const std::string text = key.description();
  EXPECT_NE(text.find("header_path = \"a.cuh\""), std::string::npos) << text;
  EXPECT_NE(text.find("header_path = \"root.cuh\""), std::string::npos) << text;
  EXPECT_NE(text.find("unresolved_include = \"cuda_fp16.h\""), std::string::npos) << text;
}

// Every header of the real template tree closes over root-relative paths only.
TEST(IncludeClosure, RealTemplateTreeClosesOverRootRelativePathsOnly) {
  const fs::path root = MARLIN_JIT_TEMPLATE_SOURCE_DIR;
  auto reader = [&root](const std::string& path) -> std::optional<std::string> {
    if (!fs::is_regular_file(root / path)) return std::nullopt;
    const auto bytes = marlin_jit::test::read_bytes(root / path);
    return std::string(bytes.begin(), bytes.end());
  };
  std::size_t headers = 0;
  for (const auto& file : fs::recursive_directory_iterator(root / "marlin_jit")) {
    if (file.path().extension() != ".cuh") continue;
    ++headers;
    const std::string relative = fs::relative(file.path(), root).generic_string();
    const auto closure = include_closure(relative, reader);
    ASSERT_FALSE(closure.headers.empty()) << relative;
    for (const auto& [path, content] : closure.headers) {
      EXPECT_FALSE(fs::path(path).is_absolute()) << path;
      EXPECT_EQ(path.find(".."), std::string::npos) << path;
    }
  }
  if (headers == 0) GTEST_SKIP() << "no .cuh templates under " << root;
}
