# Reference values for trial_analysis.mmrm and trial_analysis.missing.
#
# Run from the repository root:  Rscript tests/reference/mmrm.R
#
# 1. Simulates repeated-measures data sets (set.seed) and writes them to
#    tests/fixtures/mmrm_data/<name>.csv (observed rows only: a missing visit has no row).
# 2. Fits each with nlme::gls (REML) under seven residual covariance structures:
#      unstructured  corSymm(form = ~ vi | subject) + varIdent(form = ~ 1 | visit)
#      cs            corCompSymm(form = ~ vi | subject)
#      csh           corCompSymm + varIdent
#      ar1           corAR1(form = ~ vi | subject)            (vi = visit index 1..T)
#      ar1h          corAR1 + varIdent
#      toeplitz      corARMA(form = ~ vi | subject, p = T - 1) (an AR(T-1) process has a general
#                    Toeplitz correlation over T positions, so this is the Toeplitz structure)
#      toeph         corARMA(p = T - 1) + varIdent
#    and writes coefficients, SEs, REML log-likelihood, the subject covariance matrix, emmeans
#    LS-means (~ arm | visit, Satterthwaite df, mode = "satterthwaite") and the arm contrasts
#    (trt.vs.ctrl1: each level minus the first, unadjusted) per visit. emmeans' own df (for corSymm it falls
#    back to "appx-satterthwaite") are written as *_df; Satterthwaite df computed from first
#    principles with numDeriv (see satterthwaite_df) as *_df_exact.
# 3. Kenward-Roger check: lme4::lmer with a random intercept (= compound symmetry with
#    non-negative within-subject correlation) and emmeans(lmer.df = "kenward-roger"), which
#    calls pbkrtest; plus lmer.df = "satterthwaite". For the other structures with
#    missing visits, pbkrtest's KR engine applied to the gls fit, plus KR's second-derivative
#    term for the structures not linear in their parameters (kr_gls).
# 4. Rubin's rules: mice::pool.scalar on fixed sets of estimates and variances.
#
# Writes tests/fixtures/mmrm_from_r.py (stamped, DO NOT EDIT).

suppressPackageStartupMessages({
  library(nlme)
  library(emmeans)
  library(lme4)
  library(pbkrtest)
  library(mice)
})

out_dir <- "tests/fixtures/mmrm_data"
dir.create(out_dir, showWarnings = FALSE, recursive = TRUE)
emm_options(msg.interaction = FALSE)

# ------------------------------------------------------------------ data simulation
un_sigma <- function(sds, rho) {
  T <- length(sds)
  R <- outer(seq_len(T), seq_len(T), function(i, j) rho^abs(i - j)^0.7)
  diag(sds) %*% R %*% diag(sds)
}

simulate <- function(seed, n_by_arm, arms, visits, effect, sds, rho,
                     dropout = 0, intermittent = 0) {
  set.seed(seed)
  T <- length(visits)
  S <- un_sigma(sds, rho)
  L <- chol(S)
  rows <- list()
  id <- 0
  for (a in seq_along(arms)) {
    for (i in seq_len(n_by_arm[a])) {
      id <- id + 1
      base <- round(rnorm(1, 9, 1.2), 2)
      mu <- 8.9 + 0.6 * (base - 9) - 0.05 * seq_len(T) - (a - 1) * effect * seq_len(T) / T
      y <- mu + drop(rnorm(T) %*% L)
      keep <- rep(TRUE, T)
      # MAR-ish monotone dropout: probability rises with the last observed value
      if (dropout > 0) {
        for (t in 2:T) {
          p <- plogis(qlogis(dropout) + 0.8 * (y[t - 1] - 8.5))
          if (keep[t - 1] && runif(1) < p) {
            keep[t:T] <- FALSE
            break
          }
        }
      }
      if (intermittent > 0) {
        gap <- runif(T) < intermittent
        gap[1] <- FALSE
        keep <- keep & !gap
      }
      subj <- sprintf("S%03d", id)
      rows[[id]] <- data.frame(subject = subj, arm = arms[a], visit = visits[keep],
                               base = base, y = round(y[keep], 3))
    }
  }
  do.call(rbind, rows)
}

datasets <- list(
  balanced = list(seed = 20221, n = c(30, 30), arms = c("A", "B"), visits = c(4, 8, 12, 24),
                  effect = 0.8, sds = c(0.6, 0.7, 0.8, 0.9), rho = 0.6),
  missing = list(seed = 20222, n = c(45, 46), arms = c("UC-MSC", "Placebo"),
                 visits = c(4, 8, 12, 24, 36, 48), effect = -0.7,
                 sds = c(0.5, 0.6, 0.7, 0.8, 0.9, 1.0), rho = 0.7,
                 dropout = 0.06, intermittent = 0.05),
  three_arms = list(seed = 20225, n = c(25, 20, 30), arms = c("Placebo", "Low", "High"),
                    visits = c(12, 24, 48), effect = 0.4, sds = c(0.7, 0.8, 1.0), rho = 0.6,
                    dropout = 0.05),
  unbalanced = list(seed = 20223, n = c(22, 41), arms = c("B", "A"), visits = c(1, 2, 3, 4, 5),
                    effect = 0.5, sds = c(1.0, 1.0, 1.1, 1.3, 1.2), rho = 0.5,
                    dropout = 0.05, intermittent = 0.08)
)

for (nm in names(datasets)) {
  s <- datasets[[nm]]
  d <- simulate(s$seed, s$n, s$arms, s$visits, s$effect, s$sds, s$rho,
                if (is.null(s$dropout)) 0 else s$dropout,
                if (is.null(s$intermittent)) 0 else s$intermittent)
  write.csv(d, file.path(out_dir, paste0(nm, ".csv")), row.names = FALSE)
}

# ------------------------------------------------------------------ python writers
num <- function(x) {
  ifelse(is.na(x), "float('nan')", ifelse(is.infinite(x), ifelse(x > 0, "float('inf')", "-float('inf')"),
         sprintf("%.17g", x)))
}
vec <- function(x) paste0("[", paste(num(x), collapse = ", "), "]")
mat <- function(m) paste0("[", paste(apply(m, 1, vec), collapse = ",\n      "), "]")
str_vec <- function(x) paste0("[", paste(sprintf("%s", shQuote(as.character(x), type = "sh")), collapse = ", "), "]")

lines <- c()
add <- function(...) lines <<- c(lines, paste0(...))

read_data <- function(nm) {
  s <- datasets[[nm]]
  d <- read.csv(file.path(out_dir, paste0(nm, ".csv")), stringsAsFactors = FALSE)
  d$visit <- factor(d$visit, levels = s$visits)
  d$arm <- factor(d$arm, levels = s$arms)
  d$vi <- as.integer(d$visit)
  d$subject <- factor(d$subject)
  d[order(d$subject, d$vi), ]
}

fit_gls <- function(d, cov, rhs = "visit * arm + visit * base") {
  # The call is built literally and evaluated in the global environment so that emmeans can
  # re-evaluate it (its Satterthwaite code refits the model from the call).
  T <- nlevels(d$visit)
  cor <- switch(cov,
    unstructured = quote(corSymm(form = ~ vi | subject)),
    cs = quote(corCompSymm(form = ~ vi | subject)),
    csh = quote(corCompSymm(form = ~ vi | subject)),
    ar1 = quote(corAR1(form = ~ vi | subject)),
    ar1h = quote(corAR1(form = ~ vi | subject)),
    toeplitz = bquote(corARMA(form = ~ vi | subject, p = .(T - 1L), q = 0)),
    toeph = bquote(corARMA(form = ~ vi | subject, p = .(T - 1L), q = 0)))
  het <- cov %in% c("unstructured", "csh", "ar1h", "toeph")
  assign("d_fit", d, envir = globalenv())
  cl <- if (het) {
    bquote(gls(.(as.formula(paste("y ~", rhs))), data = d_fit, correlation = .(cor),
               weights = varIdent(form = ~ 1 | visit), method = "REML",
               control = glsControl(maxIter = 500, msMaxIter = 500, tolerance = 1e-10,
                                    msTol = 1e-12)))
  } else {
    bquote(gls(.(as.formula(paste("y ~", rhs))), data = d_fit, correlation = .(cor),
               method = "REML",
               control = glsControl(maxIter = 500, msMaxIter = 500, tolerance = 1e-10,
                                    msTol = 1e-12)))
  }
  eval(cl, envir = globalenv())
}

# Satterthwaite df from first principles, independent of emmeans' approximations:
#   df = 2 (l' C l)^2 / (g' A g),  g_k = l' (dC/dtheta_k) l,
# C = Cov(beta-hat) as a function of theta = (nlme's variance parameters, log sigma),
# A = inverse of minus the Hessian of the full REML log-likelihood at the optimum (both by
# numDeriv, Richardson extrapolation). Data must be sorted by subject (nlme's internal order).
satterthwaite_df <- function(fit, d, Lmat, rhs = "visit * arm + visit * base") {
  X <- model.matrix(as.formula(paste("~", rhs)), d)
  conLin <- list(Xy = array(c(X, d$y), c(nrow(X), ncol(X) + 1L)),
                 dims = list(N = nrow(X), p = ncol(X), REML = 1L), logLik = 0,
                 fixedSigma = FALSE)
  st <- fit$modelStruct
  Pars <- c(coef(st), lSigma = log(fit$sigma))
  N <- nrow(X) - ncol(X)
  ll <- function(P) nlme:::glsApVar.fullGlsLogLik(P, st, conLin, conLin$dims, N)
  # glsApVar.fullGlsLogLik drops the constant -N/2 log(2 pi)
  stopifnot(abs(ll(Pars) - N / 2 * log(2 * pi) - as.numeric(logLik(fit))) < 1e-6)
  H <- numDeriv::hessian(ll, Pars)
  A <- solve(-H)
  covb <- function(P) {
    s <- st
    coef(s) <- P[-length(P)]
    e <- nlme::glsEstimate(s, conLin)
    exp(2 * P[length(P)]) * crossprod(e$varBeta)
  }
  C <- covb(Pars)
  stopifnot(max(abs(C - vcov(fit))) < 1e-8)
  J <- numDeriv::jacobian(function(P) as.vector(covb(P)), Pars)
  apply(Lmat, 1, function(l) {
    g <- apply(J, 2, function(col) drop(t(l) %*% matrix(col, length(l)) %*% l))
    2 * drop(t(l) %*% C %*% l)^2 / drop(t(g) %*% A %*% g)
  })
}

subject_cov <- function(fit, d) {
  T <- nlevels(d$visit)
  full <- names(which(table(d$subject) == T))[1]
  as.matrix(getVarCov(fit, individual = full))
}

covs <- c("unstructured", "cs", "csh", "ar1", "ar1h", "toeplitz", "toeph")

cases <- list()
for (nm in c("balanced", "missing", "unbalanced")) for (cv in covs) {
  cases[[length(cases) + 1]] <- list(nm = nm, cv = cv, rhs = "visit * arm + visit * base", key = cv)
}
cases[[length(cases) + 1]] <- list(nm = "missing", cv = "unstructured", rhs = "visit * arm",
                                   key = "unstructured-nobase")
for (cv in c("unstructured", "cs")) {
  cases[[length(cases) + 1]] <- list(nm = "three_arms", cv = cv, rhs = "visit * arm + visit * base",
                                     key = cv)
}

add("FITS = {")
for (cs in cases) {
  nm <- cs$nm
  cv <- cs$cv
  d <- read_data(nm)
  fit <- fit_gls(d, cv, cs$rhs)
  emm <- emmeans(fit, ~ arm | visit, mode = "satterthwaite", data = d)
  ls <- as.data.frame(summary(emm, infer = TRUE))
  con <- contrast(emm, "trt.vs.ctrl1")
  ct <- as.data.frame(summary(con, infer = TRUE, adjust = "none"))
  ls_df_exact <- satterthwaite_df(fit, d, emm@linfct, cs$rhs)
  ct_df_exact <- satterthwaite_df(fit, d, con@linfct, cs$rhs)
  cf <- summary(fit)$tTable
  add("    (", shQuote(nm, "sh"), ", ", shQuote(cs$key, "sh"), "): {")
  add("        'formula': ", shQuote(paste("y ~", cs$rhs), "sh"), ",")
  add("        'coef_names': ", str_vec(rownames(cf)), ",")
  add("        'coef': ", vec(cf[, "Value"]), ",")
  add("        'coef_se': ", vec(cf[, "Std.Error"]), ",")
  add("        'loglik': ", num(as.numeric(logLik(fit))), ",")
  add("        'aic_nlme': ", num(AIC(fit)), ",")
  add("        'bic_nlme': ", num(BIC(fit)), ",")
  add("        'df_nlme': ", num(attr(logLik(fit), "df")), ",")
  add("        'covariance': ", mat(subject_cov(fit, d)), ",")
  add("        'lsmeans_visit': ", str_vec(ls$visit), ",")
  add("        'lsmeans_arm': ", str_vec(ls$arm), ",")
  add("        'lsmeans': ", vec(ls$emmean), ",")
  add("        'lsmeans_se': ", vec(ls$SE), ",")
  add("        'lsmeans_df': ", vec(ls$df), ",")
  add("        'lsmeans_low': ", vec(ls$lower.CL), ",")
  add("        'lsmeans_high': ", vec(ls$upper.CL), ",")
  add("        'contrast_visit': ", str_vec(ct$visit), ",")
  add("        'contrast_label': ", str_vec(ct$contrast), ",")
  add("        'contrast': ", vec(ct$estimate), ",")
  add("        'contrast_se': ", vec(ct$SE), ",")
  add("        'contrast_df': ", vec(ct$df), ",")
  add("        'contrast_low': ", vec(ct$lower.CL), ",")
  add("        'contrast_high': ", vec(ct$upper.CL), ",")
  add("        'contrast_p': ", vec(ct$p.value), ",")
  add("        'lsmeans_df_exact': ", vec(ls_df_exact), ",")
  add("        'contrast_df_exact': ", vec(ct_df_exact), ",")
  add("        'emmeans_df_mode': ", shQuote(attr(emm@dffun, "mesg"), "sh"), ",")
  add("        'mean_base': ", num(mean(d$base)), ",")
  add("    },")
}
add("}")
add("")

# ------------------------------------------------------------------ Kenward-Roger (lmer + pbkrtest)
add("KR = {")
for (nm in c("balanced", "missing")) {
  d <- read_data(nm)
  m <- lmer(y ~ visit * arm + visit * base + (1 | subject), data = d, REML = TRUE)
  vc <- as.data.frame(VarCorr(m))
  for (mode in c("kenward-roger", "satterthwaite")) {
    emm <- emmeans(m, ~ arm | visit, lmer.df = mode)
    ls <- as.data.frame(summary(emm, infer = TRUE))
    ct <- as.data.frame(summary(contrast(emm, "revpairwise"), infer = TRUE))
    add("    (", shQuote(nm, "sh"), ", ", shQuote(mode, "sh"), "): {")
    add("        'tau2': ", num(vc$vcov[1]), ",")
    add("        'sigma2': ", num(vc$vcov[2]), ",")
    add("        'lsmeans': ", vec(ls$emmean), ",")
    add("        'lsmeans_se': ", vec(ls$SE), ",")
    add("        'lsmeans_df': ", vec(ls$df), ",")
    add("        'contrast': ", vec(ct$estimate), ",")
    add("        'contrast_se': ", vec(ct$SE), ",")
    add("        'contrast_df': ", vec(ct$df), ",")
    add("        'contrast_p': ", vec(ct$p.value), ",")
    add("    },")
  }
}
add("}")
add("")

# ------------------------------------------------------------------ Kenward-Roger on gls fits (pbkrtest engine)
# lmer cannot fit these *residual* covariances, so pbkrtest's own KR engine is called on the
# gls fit: vcovAdj_internal(Phi, SigmaG, X) takes the marginal covariance V (block-diagonal
# over subjects, each block Sigma-hat restricted to the observed visits; missing visits have
# no row) and the derivatives G_k = dV/dphi_k in SAS's parametrisation phi: sigma_jk for UN,
# one covariance per lag for TOEP (both linear in phi), variances and correlations for CSH,
# AR(1), ARH(1) and TOEPH. For those non-linear ones Kenward & Roger's (1997) adjusted
# covariance has an extra term with R_ij = X' V^-1 (d2V / dphi_i dphi_j) V^-1 X,
#   PhiA = Phi + 2 Phi {sum_ij W_ij (Q_ij - P_i Phi P_j - R_ij / 4)} Phi,
# which pbkrtest (written for linear structures) lacks and is added here. Derivatives of
# Sigma(phi) by numDeriv (Richardson); phi-hat read off the gls covariance matrix; the df
# (Lb_ddf) use P and W only, as in KR.
sigma_nat <- function(cv, T) {
  dist <- abs(outer(1:T, 1:T, "-"))
  lower <- lower.tri(diag(T), diag = TRUE)
  sds <- function(v) sqrt(outer(v, v))
  switch(cv,
    unstructured = function(p) { S <- matrix(0, T, T); S[lower] <- p; S + t(S) - diag(diag(S)) },
    toeplitz = function(p) matrix(p[dist + 1], T, T),
    csh = function(p) { R <- matrix(p[T + 1], T, T); diag(R) <- 1; R * sds(p[1:T]) },
    ar1 = function(p) p[1] * p[2]^dist,
    ar1h = function(p) p[T + 1]^dist * sds(p[1:T]),
    toeph = function(p) matrix(c(1, p[(T + 1):(2 * T - 1)])[dist + 1], T, T) * sds(p[1:T]))
}
phi_hat <- function(cv, S) {
  T <- nrow(S)
  C <- cov2cor(S)
  switch(cv, unstructured = S[lower.tri(S, diag = TRUE)], toeplitz = S[1, ],
         csh = c(diag(S), C[1, 2]), ar1 = c(S[1, 1], C[1, 2]), ar1h = c(diag(S), C[1, 2]),
         toeph = c(diag(S), C[1, 2:T]))
}
# The adjusted covariance of one fit, computed once; kr_at() evaluates it for the rows of L.
kr_gls <- function(fit, d, cv, rhs = "visit * arm + visit * base") {
  X <- model.matrix(as.formula(paste("~", rhs)), d)
  stopifnot(identical(colnames(X), names(coef(fit))))
  T <- nlevels(d$visit)
  S <- subject_cov(fit, d)
  f <- sigma_nat(cv, T)
  phi <- phi_hat(cv, S)
  stopifnot(max(abs(f(phi) - S)) < 1e-8)
  k <- length(phi)
  idx <- split(d$vi, droplevels(d$subject))[unique(as.character(d$subject))]
  blocks <- function(M) as.matrix(Matrix::bdiag(lapply(idx, function(v) M[v, v, drop = FALSE])))
  J <- numDeriv::jacobian(function(p) as.vector(f(p)), phi)
  G <- lapply(seq_len(k), function(i) blocks(matrix(J[, i], T, T)))
  V <- blocks(S)
  Phi <- as.matrix(vcov(fit))
  PhiA1 <- pbkrtest:::vcovAdj_internal(Phi, list(Sigma = V, G = G, n.ggamma = k), X)
  PhiA <- as.matrix(PhiA1)
  if (!cv %in% c("unstructured", "toeplitz")) {
    Hs <- lapply(seq_len(T * T), function(e) numDeriv::hessian(function(p) as.vector(f(p))[e], phi))
    W <- as.matrix(attr(PhiA1, "W"))
    VinvX <- solve(V, X)
    Rsum <- matrix(0, ncol(X), ncol(X))
    for (i in seq_len(k)) for (j in seq_len(k)) {
      H <- matrix(sapply(Hs, function(h) h[i, j]), T, T)
      Rsum <- Rsum + W[i, j] * crossprod(VinvX, blocks(H) %*% VinvX)
    }
    PhiA <- PhiA - 0.5 * Phi %*% Rsum %*% Phi
  }
  list(Phi = Phi, PhiA1 = PhiA1, PhiA = PhiA)
}
kr_at <- function(kr, Lmat) list(
  se = apply(Lmat, 1, function(l) sqrt(drop(t(l) %*% kr$PhiA %*% l))),
  df = apply(Lmat, 1, function(l) pbkrtest:::Lb_ddf(matrix(l, nrow = 1), kr$Phi, kr$PhiA1))
)

kr_cases <- rbind(
  expand.grid(nm = c("missing", "unbalanced", "three_arms"), cv = c("unstructured", "toeplitz"),
              stringsAsFactors = FALSE),
  expand.grid(nm = c("missing", "unbalanced"), cv = c("csh", "ar1", "ar1h", "toeph"),
              stringsAsFactors = FALSE))
add("KR_GLS = {")
for (r in seq_len(nrow(kr_cases))) {
  nm <- kr_cases$nm[r]
  cv <- kr_cases$cv[r]
  d <- read_data(nm)
  fit <- fit_gls(d, cv)
  emm <- emmeans(fit, ~ arm | visit, mode = "satterthwaite", data = d)
  con <- contrast(emm, "trt.vs.ctrl1")
  kr <- kr_gls(fit, d, cv)
  ls_kr <- kr_at(kr, emm@linfct)
  ct_kr <- kr_at(kr, con@linfct)
  add("    (", shQuote(nm, "sh"), ", ", shQuote(cv, "sh"), "): {")
  add("        'lsmeans_se': ", vec(ls_kr$se), ",")
  add("        'lsmeans_df': ", vec(ls_kr$df), ",")
  add("        'contrast_se': ", vec(ct_kr$se), ",")
  add("        'contrast_df': ", vec(ct_kr$df), ",")
  add("    },")
}
add("}")
add("")

# ------------------------------------------------------------------ Rubin's rules (mice::pool.scalar)
set.seed(20224)
add("RUBIN = [")
cases <- list(list(m = 5, dfcom = Inf), list(m = 20, dfcom = 87), list(m = 3, dfcom = 12))
for (cs in cases) {
  Q <- round(rnorm(cs$m, -0.6, 0.1), 6)
  U <- round(runif(cs$m, 0.03, 0.06), 6)
  k <- 1
  n <- if (is.infinite(cs$dfcom)) Inf else cs$dfcom + k
  p <- pool.scalar(Q, U, n = n, k = k)
  add("    {")
  add("        'estimates': ", vec(Q), ",")
  add("        'variances': ", vec(U), ",")
  add("        'dfcom': ", num(cs$dfcom), ",")
  add("        'qbar': ", num(p$qbar), ",")
  add("        'ubar': ", num(p$ubar), ",")
  add("        'b': ", num(p$b), ",")
  add("        't': ", num(p$t), ",")
  add("        'df': ", num(p$df), ",")
  add("        'r': ", num(p$r), ",")
  add("        'fmi': ", num(p$fmi), ",")
  add("    },")
}
add("]")
add("")

header <- c(
  paste0('"""Generated by tests/reference/mmrm.R on ', format(Sys.Date()), " with ", R.version.string,
         " (nlme ", packageVersion("nlme"), ", emmeans ", packageVersion("emmeans"),
         ", lme4 ", packageVersion("lme4"), ", pbkrtest ", packageVersion("pbkrtest"),
         ", mice ", packageVersion("mice"), ")."),
  "",
  "DO NOT EDIT. Data sets: tests/fixtures/mmrm_data/*.csv (written by the same script).",
  '"""',
  "",
  "DATASETS = {")
for (nm in names(datasets)) {
  s <- datasets[[nm]]
  header <- c(header, paste0("    ", shQuote(nm, "sh"), ": {'arms': ", str_vec(s$arms),
                             ", 'visits': ", vec(s$visits), "},"))
}
header <- c(header, "}", "")
writeLines(c(header, lines), "tests/fixtures/mmrm_from_r.py")
cat("wrote tests/fixtures/mmrm_from_r.py\n")
