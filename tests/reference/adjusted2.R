# Reference values for the second part of issue 18 (tests/test_mmrm_covariates.py,
# tests/test_binary_karm.py, tests/test_power_margin_rr.py).
#
# Run from the repository root:  Rscript tests/reference/adjusted2.R   (about 30 s)
#
# 1. MMRM with covariates beyond the baseline: a simulated three-arm trial with dropout
#    (written to tests/fixtures/mmrm_data/covariates.csv), nlme::gls(y ~ visit * arm +
#    visit * base + age + region, corSymm + varIdent, REML); emmeans LS-means with equal and
#    proportional weights and the arm contrasts; Satterthwaite df from first principles
#    (numDeriv, as mmrm.R); the empirical (CR0) sandwich from the gls pieces and its
#    Bell-McCaffrey df from the N x N hat matrix (what R's mmrm computes for
#    vcov = "Empirical"; mmrm and clubSandwich are not in Debian).
#
# Writes tests/fixtures/adjusted2_from_r.py (stamped, DO NOT EDIT).

suppressPackageStartupMessages({
  library(nlme)
  library(emmeans)
  library(numDeriv)
})

num <- function(x) format(x, digits = 16)
vec <- function(v) paste0("[", paste(num(v), collapse = ", "), "]")
str_vec <- function(v) paste0("[", paste0('"', v, '"', collapse = ", "), "]")
lines <- character()
add <- function(...) lines <<- c(lines, paste0(...))

# ------------------------------------------------------------------ 1. MMRM with covariates
set.seed(20261201)
ns <- 120
subj <- data.frame(subject = seq_len(ns),
                   arm = sample(c("Placebo", "Low", "High"), ns, replace = TRUE),
                   age = round(rnorm(ns, 60, 9)),
                   region = sample(c("ASI", "EUR", "NAM"), ns, replace = TRUE, prob = c(.2, .5, .3)),
                   base = round(rnorm(ns, 8.5, 1), 2))
dm <- merge(subj, data.frame(visit = c(4, 8, 12, 24)))
dm <- dm[order(dm$subject, dm$visit), ]
eff <- c(Placebo = 0, Low = -0.2, High = -0.5)[dm$arm] * dm$visit / 24
reg <- c(ASI = 0.3, EUR = 0, NAM = -0.2)[dm$region]
u <- rnorm(ns, 0, 0.5)[dm$subject]
dm$y <- round(dm$base + eff + reg + 0.015 * (dm$age - 60) + 0.02 * dm$visit + u +
              rnorm(nrow(dm), 0, 0.4 + 0.01 * dm$visit), 3)
drop_at <- sample(c(8, 12, 24, Inf), ns, replace = TRUE, prob = c(.08, .1, .12, .7))
dm <- dm[dm$visit < drop_at[dm$subject], ]
dir.create("tests/fixtures/mmrm_data", showWarnings = FALSE, recursive = TRUE)
write.csv(dm[, c("subject", "arm", "visit", "age", "region", "base", "y")],
          "tests/fixtures/mmrm_data/covariates.csv", row.names = FALSE)
dm$visit <- factor(dm$visit, levels = c(4, 8, 12, 24))
dm$arm <- factor(dm$arm, levels = c("Placebo", "Low", "High"))
dm$region <- factor(dm$region)
dm$vi <- as.integer(dm$visit)
dm$subject <- factor(dm$subject)
rownames(dm) <- NULL
assign("dcov", dm, envir = globalenv())
rhs <- "visit * arm + visit * base + age + region"
form <- as.formula(paste("y ~", rhs))
cfit <- gls(form, data = dcov, correlation = corSymm(form = ~ vi | subject),
            weights = varIdent(form = ~ 1 | visit), method = "REML",
            control = glsControl(maxIter = 500, msMaxIter = 500, tolerance = 1e-10, msTol = 1e-12))
# Satterthwaite df from first principles (the same computation as mmrm.R's satterthwaite_df)
satt <- function(fit, d, Lmat) {
  X <- model.matrix(as.formula(paste("~", rhs)), d)
  conLin <- list(Xy = array(c(X, d$y), c(nrow(X), ncol(X) + 1L)),
                 dims = list(N = nrow(X), p = ncol(X), REML = 1L), logLik = 0, fixedSigma = FALSE)
  st <- fit$modelStruct
  Pars <- c(coef(st), lSigma = log(fit$sigma))
  N <- nrow(X) - ncol(X)
  ll <- function(P) nlme:::glsApVar.fullGlsLogLik(P, st, conLin, conLin$dims, N)
  stopifnot(abs(ll(Pars) - N / 2 * log(2 * pi) - as.numeric(logLik(fit))) < 1e-6)
  A <- solve(-numDeriv::hessian(ll, Pars))
  covb <- function(P) {
    s <- st
    coef(s) <- P[-length(P)]
    exp(2 * P[length(P)]) * crossprod(nlme::glsEstimate(s, conLin)$varBeta)
  }
  C <- covb(Pars)
  stopifnot(max(abs(C - vcov(fit))) < 1e-8)
  J <- numDeriv::jacobian(function(P) as.vector(covb(P)), Pars)
  apply(Lmat, 1, function(l) {
    g <- apply(J, 2, function(col) drop(t(l) %*% matrix(col, length(l)) %*% l))
    2 * drop(t(l) %*% C %*% l)^2 / drop(t(g) %*% A %*% g)
  })
}
emm_eq <- emmeans(cfit, ~ arm | visit, data = dcov, mode = "df.error")
# Proportional weights: the frequencies of the regions over the analysed rows, passed
# explicitly. (emmeans' weights = "proportional" on a gls fit counts each row with its
# varIdent precision weight, weights(fit), which is not a frequency: 7.7e-4 off here.)
w_region <- as.numeric(prop.table(table(dcov$region)))
emm_pr <- emmeans(cfit, ~ arm | visit, data = dcov, mode = "df.error", weights = w_region)
con <- contrast(emm_eq, "trt.vs.ctrl1")   # Low - Placebo, High - Placebo by visit
Lc <- con@linfct
s_eq <- summary(emm_eq); s_pr <- summary(emm_pr)
b <- coef(cfit)
# empirical sandwich (CR0) from the gls pieces, and the Bell-McCaffrey df by brute force
X <- model.matrix(form, dcov)
N <- nrow(X)
Om <- matrix(0, N, N)
for (s in levels(dcov$subject)) {
  idx <- which(dcov$subject == s)
  if (length(idx)) Om[idx, idx] <- as.matrix(getVarCov(cfit, individual = s))
}
W <- solve(Om)
Phi <- solve(t(X) %*% W %*% X)
stopifnot(max(abs(Phi - vcov(cfit))) < 1e-8)
e <- dcov$y - drop(X %*% b)
H <- X %*% Phi %*% t(X) %*% W
IH <- diag(N) - H
groups <- split(seq_len(N), dcov$subject)
groups <- groups[lengths(groups) > 0]
Bm <- 0
for (idx in groups) {
  u <- t(X[idx, , drop = FALSE]) %*% W[idx, idx] %*% e[idx]
  Bm <- Bm + u %*% t(u)
}
Vemp <- Phi %*% Bm %*% Phi
bm_df <- function(l) {
  p <- drop(W %*% X %*% Phi %*% l)          # p_i = S_i^-1 X_i Phi l, stacked
  Gm <- sapply(groups, function(idx) drop(t(IH[idx, , drop = FALSE]) %*% p[idx]))
  G <- t(Gm) %*% Om %*% Gm
  sum(diag(G))^2 / sum(G^2)
}
Lcoef <- diag(length(b))
add("MMRM_COV = dict(  # data: tests/fixtures/mmrm_data/covariates.csv; y ~ ", rhs, "; UN, REML")
add("    terms=", str_vec(names(b)), ",")
add("    coef=", vec(b), ",")
add("    coef_se=", vec(sqrt(diag(vcov(cfit)))), ",")
add("    coef_df=", vec(satt(cfit, dcov, Lcoef)), ",")
add("    loglik=", num(as.numeric(logLik(cfit))), ",")
add("    covariance=", vec(as.matrix(getVarCov(cfit, individual = names(which(table(dcov$subject) == 4))[1]))), ",")
add("    lsmeans_visit=", str_vec(as.character(s_eq$visit)), ",")
add("    lsmeans_arm=", str_vec(as.character(s_eq$arm)), ",")
add("    lsmeans_equal=", vec(s_eq$emmean), ",")
add("    lsmeans_equal_se=", vec(s_eq$SE), ",")
add("    lsmeans_proportional=", vec(s_pr$emmean), ",")
add("    lsmeans_proportional_se=", vec(s_pr$SE), ",")
add("    contrast=", str_vec(as.character(summary(con)$contrast)), ",")
add("    contrast_visit=", str_vec(as.character(summary(con)$visit)), ",")
add("    contrast_estimate=", vec(drop(Lc %*% b)), ",")
add("    contrast_se=", vec(sqrt(diag(Lc %*% vcov(cfit) %*% t(Lc)))), ",")
add("    contrast_df=", vec(satt(cfit, dcov, Lc)), ",")
add("    empirical_coef_se=", vec(sqrt(diag(Vemp))), ",")
add("    empirical_coef_df=", vec(apply(Lcoef, 1, bm_df)), ",")
add("    empirical_contrast_se=", vec(sqrt(diag(Lc %*% Vemp %*% t(Lc)))), ",")
add("    empirical_contrast_df=", vec(apply(Lc, 1, bm_df)), ",")
add(")")
add("")

header <- c(
  paste0('"""Generated by tests/reference/adjusted2.R on ', format(Sys.Date()), " with ", R.version.string,
         " (nlme ", packageVersion("nlme"), ", emmeans ", packageVersion("emmeans"), ")."),
  "",
  "DO NOT EDIT. Data set: tests/fixtures/mmrm_data/covariates.csv (written by the same script).",
  "Matrices are flattened in R's column order.",
  '"""',
  "")
writeLines(c(header, lines), "tests/fixtures/adjusted2_from_r.py")
cat("wrote tests/fixtures/adjusted2_from_r.py\n")
