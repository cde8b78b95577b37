# Reference values for trial_analysis.binary (tests/test_binary*.py).
# Run from the repository root:  Rscript tests/reference/binary.R
# Writes tests/fixtures/binary_from_r.py. Base R only (exact2x2 is not installable here), so the
# methods R lacks are written below from their papers, independently of the Python code and
# with different numerics (numerical constrained MLE by optimize(), uniroot(), glm deviance).

tables <- list(
  c(9, 45, 2, 44),    # Zang 2022 as analysed (inferred)
  c(9, 45, 2, 46),    # Zang 2022, intention to treat with missing = failure
  c(56, 70, 48, 80),  # Newcombe 1998, Table II (a)
  c(9, 10, 3, 10),    # (b)
  c(6, 7, 2, 7),      # (c)
  c(5, 56, 0, 29),    # (d)
  c(0, 10, 0, 20),    # (e)
  c(10, 10, 0, 20),   # (f)
  c(7, 15, 12, 15),   # Chan 1998 vaccine trial (scipy barnard_exact docs)
  c(3, 12, 7, 15),
  c(1, 1, 0, 1),      # n = 1
  c(0, 5, 0, 5),      # both arms 0
  c(5, 5, 5, 5),      # both arms n/n
  c(0, 30, 6, 30),
  c(20, 40, 20, 40)
)
levels <- c(0.95, 0.90)

num <- function(x) if (length(x) == 0 || is.na(x)) "None" else if (is.infinite(x)) (if (x > 0) "float('inf')" else "float('-inf')") else format(x, digits = 15)

# ---- independent implementations --------------------------------------------------------
wilson <- function(x, n, cl) { if (n == 0) return(c(0, 1)); as.numeric(suppressWarnings(prop.test(x, n, conf.level = cl, correct = FALSE))$conf.int) }
newcombe <- function(x1, n1, x2, n2, cl) {
  p1 <- x1 / n1; p2 <- x2 / n2; w1 <- wilson(x1, n1, cl); w2 <- wilson(x2, n2, cl)
  c(p1 - p2 - sqrt((p1 - w1[1])^2 + (w2[2] - p2)^2), p1 - p2 + sqrt((w1[2] - p1)^2 + (p2 - w2[1])^2))
}
agresti_caffo <- function(x1, n1, x2, n2, cl)
  as.numeric(suppressWarnings(prop.test(c(x1 + 1, x2 + 1), c(n1 + 2, n2 + 2), conf.level = cl, correct = FALSE))$conf.int)

# constrained MLE of (p1, p2) under p1 - p2 = delta, numerically (not the closed form)
cmle_rd <- function(x1, n1, x2, n2, delta) {
  ll <- function(p2) { p1 <- p2 + delta; dbinom(x1, n1, p1, log = TRUE) + dbinom(x2, n2, p2, log = TRUE) }
  lo <- max(0, -delta); hi <- min(1, 1 - delta)
  p2 <- optimize(ll, c(lo, hi), maximum = TRUE, tol = 1e-13)$maximum
  c(p2 + delta, p2)
}
mn_stat <- function(x1, n1, x2, n2, delta) {
  p <- cmle_rd(x1, n1, x2, n2, delta); N <- n1 + n2
  v <- (p[1] * (1 - p[1]) / n1 + p[2] * (1 - p[2]) / n2) * N / (N - 1)
  (x1 / n1 - x2 / n2 - delta) / sqrt(v)
}
mn_ci <- function(x1, n1, x2, n2, cl) {
  z <- qnorm(1 - (1 - cl) / 2); d <- x1 / n1 - x2 / n2; e <- 1e-10
  lo <- if (d <= -1 + e || mn_stat(x1, n1, x2, n2, -1 + e) < z) -1 else
    uniroot(function(t) mn_stat(x1, n1, x2, n2, t) - z, c(-1 + e, min(d, 1 - e)), tol = 1e-12)$root
  hi <- if (d >= 1 - e || mn_stat(x1, n1, x2, n2, 1 - e) > -z) 1 else
    uniroot(function(t) mn_stat(x1, n1, x2, n2, t) + z, c(max(d, -1 + e), 1 - e), tol = 1e-12)$root
  c(lo, hi)
}
# Koopman score for the risk ratio, constrained MLE numerically
koop_stat <- function(x1, n1, x2, n2, phi) {
  ll <- function(p2) dbinom(x1, n1, phi * p2, log = TRUE) + dbinom(x2, n2, p2, log = TRUE)
  p2 <- optimize(ll, c(0, min(1, 1 / phi)), maximum = TRUE, tol = 1e-14)$maximum; p1 <- phi * p2
  (x1 - n1 * p1)^2 / (n1 * p1 * (1 - p1)) + (x2 - n2 * p2)^2 / (n2 * p2 * (1 - p2))
}
koopman_ci <- function(x1, n1, x2, n2, cl) {
  if (x1 == 0 && x2 == 0) return(c(0, Inf))
  z2 <- qnorm(1 - (1 - cl) / 2)^2
  f <- function(l) koop_stat(x1, n1, x2, n2, exp(l)) - z2
  est <- if (x1 > 0 && x2 > 0) log((x1 / n1) / (x2 / n2)) else NA
  lo <- if (x1 == 0) 0 else exp(uniroot(f, c(-20, if (x2 == 0) 15 else est), tol = 1e-12)$root)
  hi <- if (x2 == 0) Inf else exp(uniroot(f, c(if (x1 == 0) -15 else est, 20), tol = 1e-12)$root)
  c(lo, hi)
}
katz_ci <- function(x1, n1, x2, n2, cl) {
  if (x1 == 0 && x2 == 0) return(c(0, Inf))
  if (x1 == 0 || x2 == 0) { x1 <- x1 + 0.5; x2 <- x2 + 0.5; n1 <- n1 + 1; n2 <- n2 + 1 }
  z <- qnorm(1 - (1 - cl) / 2); l <- log((x1 / n1) / (x2 / n2)); s <- sqrt(1 / x1 - 1 / n1 + 1 / x2 - 1 / n2)
  exp(c(l - z * s, l + z * s))
}
woolf_ci <- function(x1, n1, x2, n2, cl) {
  a <- x1; b <- n1 - x1; c <- x2; d <- n2 - x2
  if ((a == 0 && c == 0) || (b == 0 && d == 0)) return(c(0, Inf))
  if (min(a, b, c, d) == 0) { a <- a + .5; b <- b + .5; c <- c + .5; d <- d + .5 }
  z <- qnorm(1 - (1 - cl) / 2); l <- log(a * d / (b * c)); s <- sqrt(1 / a + 1 / b + 1 / c + 1 / d)
  exp(c(l - z * s, l + z * s))
}
# likelihood-ratio G^2 as a glm deviance difference (0 for a degenerate margin)
lr_test <- function(x1, n1, x2, n2) {
  m <- x1 + x2; N <- n1 + n2
  if (m == 0 || m == N) return(c(0, 1))
  y <- cbind(c(x1, x2), c(n1 - x1, n2 - x2)); g <- factor(1:2)
  fit <- suppressWarnings(glm(y ~ g, family = binomial))
  G <- fit$null.deviance - fit$deviance
  c(G, pchisq(G, 1, lower.tail = FALSE))
}
# conditional distribution of X1 given the margin, noncentral with odds ratio psi
cond <- function(x1, n1, x2, n2, psi) {
  m <- x1 + x2; lo <- max(0, m - n2); hi <- min(n1, m); s <- lo:hi
  l <- lchoose(n1, s) + lchoose(n2, m - s) + s * log(psi); d <- exp(l - max(l)); list(s = s, d = d / sum(d))
}
midp_two <- function(x1, n1, x2, n2) {
  cd <- cond(x1, n1, x2, n2, 1); dobs <- cd$d[cd$s == x1]
  sum(cd$d[cd$d <= dobs * (1 + 1e-7)]) - dobs / 2
}
p_minlike <- function(x1, n1, x2, n2, psi) {
  cd <- cond(x1, n1, x2, n2, psi); dobs <- cd$d[cd$s == x1]; min(1, sum(cd$d[cd$d <= dobs * (1 + 1e-7)]))
}
p_blaker <- function(x1, n1, x2, n2, psi) {
  cd <- cond(x1, n1, x2, n2, psi); lower <- cumsum(cd$d); upper <- rev(cumsum(rev(cd$d)))
  g <- pmin(lower, upper); gobs <- g[cd$s == x1]; min(1, sum(cd$d[g <= gobs * (1 + 1e-7)]))
}
# matching CI: the hull of {psi : p(psi) > alpha}; p jumps, so the ends are located on a
# fine log grid and then by uniroot on p - alpha inside the bracketing grid cell.
match_ci <- function(pfun, x1, n1, x2, n2, cl) {
  m <- x1 + x2; lo <- max(0, m - n2); hi <- min(n1, m); alpha <- 1 - cl
  if (lo == hi) return(c(0, Inf))
  grid <- exp(seq(-20, 20, length.out = 4001))
  pv <- sapply(grid, function(p) pfun(x1, n1, x2, n2, p))
  ok <- which(pv > alpha)
  f <- function(l) pfun(x1, n1, x2, n2, exp(l)) - alpha
  lg <- log(grid)
  L <- if (x1 == lo) 0 else { i <- min(ok); exp(uniroot(function(l) if (f(l) > 0) 1 else -1, c(lg[i - 1], lg[i]), tol = 1e-13)$root) }
  U <- if (x1 == hi) Inf else { i <- max(ok); exp(uniroot(function(l) if (f(l) > 0) 1 else -1, c(lg[i], lg[i + 1]), tol = 1e-13)$root) }
  c(L, U)
}

# fisher.test's own uniroot() calls use the default tol (eps^0.25 ~ 1.2e-4 on psi or 1/psi),
# so its interval and estimate are only good to ~1e-4 (up to 1 % for psi ~ 1000): the same
# equations solved here with tol 1e-13 on log(psi) give a tight reference.
pnh <- function(x1, n1, x2, n2, psi, upper) { cd <- cond(x1, n1, x2, n2, psi); if (upper) sum(cd$d[cd$s >= x1]) else sum(cd$d[cd$s <= x1]) }
central_tight <- function(x1, n1, x2, n2, cl) {
  m <- x1 + x2; lo <- max(0, m - n2); hi <- min(n1, m); a <- (1 - cl) / 2
  if (lo == hi) return(c(0, Inf))
  L <- if (x1 == lo) 0 else exp(uniroot(function(l) pnh(x1, n1, x2, n2, exp(l), TRUE) - a, c(-40, 40), tol = 1e-13)$root)
  U <- if (x1 == hi) Inf else exp(uniroot(function(l) pnh(x1, n1, x2, n2, exp(l), FALSE) - a, c(-40, 40), tol = 1e-13)$root)
  c(L, U)
}
cmle_tight <- function(x1, n1, x2, n2) {
  m <- x1 + x2; lo <- max(0, m - n2); hi <- min(n1, m)
  if (lo == hi) return(NA); if (x1 == lo) return(0); if (x1 == hi) return(Inf)
  exp(uniroot(function(l) { cd <- cond(x1, n1, x2, n2, exp(l)); sum(cd$s * cd$d) - x1 }, c(-40, 40), tol = 1e-13)$root)
}

lines <- c(
  sprintf('"""Generated by tests/reference/binary.R on %s with %s. DO NOT EDIT."""', Sys.Date(), R.version.string),
  "# Base R: fisher.test, chisq.test, prop.test, glm; other methods written in the R script from their papers.",
  "",
  "CASES = ["
)
for (tb in tables) for (cl in levels) {
  x1 <- tb[1]; n1 <- tb[2]; x2 <- tb[3]; n2 <- tb[4]
  m <- matrix(c(x1, x2, n1 - x1, n2 - x2), 2)
  ft <- fisher.test(m, conf.level = cl)
  fl <- fisher.test(m, alternative = "less")$p.value
  fg <- fisher.test(m, alternative = "greater")$p.value
  c0 <- suppressWarnings(chisq.test(m, correct = FALSE)); c1 <- suppressWarnings(chisq.test(m, correct = TRUE))
  p0 <- suppressWarnings(prop.test(c(x1, x2), c(n1, n2), conf.level = cl, correct = FALSE))
  p1 <- suppressWarnings(prop.test(c(x1, x2), c(n1, n2), conf.level = cl, correct = TRUE))
  pg <- suppressWarnings(prop.test(c(x1, x2), c(n1, n2), alternative = "greater", correct = FALSE))
  nc <- newcombe(x1, n1, x2, n2, cl); ac <- agresti_caffo(x1, n1, x2, n2, cl)
  mn <- mn_ci(x1, n1, x2, n2, cl); ko <- koopman_ci(x1, n1, x2, n2, cl)
  ka <- katz_ci(x1, n1, x2, n2, cl); wo <- woolf_ci(x1, n1, x2, n2, cl); lr <- lr_test(x1, n1, x2, n2)
  ml <- match_ci(p_minlike, x1, n1, x2, n2, cl); bl <- match_ci(p_blaker, x1, n1, x2, n2, cl)
  ct <- central_tight(x1, n1, x2, n2, cl)
  deg <- (x1 + x2 == 0) || (x1 + x2 == n1 + n2)
  lines <- c(lines, sprintf(paste0(
    "    dict(x1=%d, n1=%d, x2=%d, n2=%d, conf_level=%s, fisher_p=%s, fisher_less=%s, fisher_greater=%s, ",
    "fisher_or=%s, fisher_ci=(%s, %s), fisher_midp=%s, blaker_p=%s, minlike_ci=(%s, %s), blaker_ci=(%s, %s), ",
    "chisq_stat=%s, chisq_p=%s, yates_stat=%s, yates_p=%s, z_greater_p=%s, lr_stat=%s, lr_p=%s, ",
    "wald_ci=(%s, %s), wald_cc_ci=(%s, %s), newcombe_ci=(%s, %s), agresti_caffo_ci=(%s, %s), mn_ci=(%s, %s), ",
    "katz_ci=(%s, %s), koopman_ci=(%s, %s), woolf_ci=(%s, %s), central_ci_tight=(%s, %s), cmle_tight=%s),"),
    x1, n1, x2, n2, num(cl), num(ft$p.value), num(fl), num(fg), num(ft$estimate), num(ft$conf.int[1]), num(ft$conf.int[2]),
    num(midp_two(x1, n1, x2, n2)), num(p_blaker(x1, n1, x2, n2, 1)), num(ml[1]), num(ml[2]), num(bl[1]), num(bl[2]),
    if (deg) "None" else num(c0$statistic), if (deg) "None" else num(c0$p.value),
    if (deg) "None" else num(c1$statistic), if (deg) "None" else num(c1$p.value), if (deg) "None" else num(pg$p.value),
    num(lr[1]), num(lr[2]),
    num(p0$conf.int[1]), num(p0$conf.int[2]), num(p1$conf.int[1]), num(p1$conf.int[2]), num(nc[1]), num(nc[2]),
    num(ac[1]), num(ac[2]), num(mn[1]), num(mn[2]), num(ka[1]), num(ka[2]), num(ko[1]), num(ko[2]), num(wo[1]), num(wo[2]),
    num(ct[1]), num(ct[2]), num(cmle_tight(x1, n1, x2, n2))))
}
lines <- c(lines, "]", "")

# ---- packaged implementations (Debian r-cran-epi) -----------------------------------------
# Epi::ci.pd (Carstensen & Laara): Newcombe's method 10 (hybrid score) and Agresti-Caffo, a
# maintained implementation beside the functions written above. ci.pd(aa, bb, cc, dd) takes
# successes in arm 1, successes in arm 2, failures in arm 1, failures in arm 2.
suppressPackageStartupMessages(library(Epi))
lines <- c(lines, sprintf("# Epi %s: ci.pd(x1, x2, n1 - x1, n2 - x2, method = 'Nc' | 'AC', conf.level = cl)",
                          packageVersion("Epi")), "EPI_CI_PD = [")
for (tb in tables) for (cl in levels) {
  x1 <- tb[1]; n1 <- tb[2]; x2 <- tb[3]; n2 <- tb[4]
  nc <- ci.pd(x1, x2, n1 - x1, n2 - x2, method = "Nc", conf.level = cl, print = FALSE)
  ac <- ci.pd(x1, x2, n1 - x1, n2 - x2, method = "AC", conf.level = cl, print = FALSE)
  lines <- c(lines, sprintf(
    "    dict(x1=%d, n1=%d, x2=%d, n2=%d, conf_level=%s, newcombe_ci=(%s, %s), agresti_caffo_ci=(%s, %s)),",
    x1, n1, x2, n2, num(cl), num(nc[1, 6]), num(nc[1, 7]), num(ac[1, 6]), num(ac[1, 7])))
}
lines <- c(lines, "]")
writeLines(lines, "tests/fixtures/binary_from_r.py")
cat("wrote tests/fixtures/binary_from_r.py\n")
