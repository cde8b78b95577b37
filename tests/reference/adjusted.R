# Reference values for ta.binary.adjusted, ta.binary.cmh, ta.binary.noninferiority and
# ta.continuous.tost (tests/test_binary_adjusted.py, tests/test_binary_stratified.py).
#
# Run from the repository root:  Rscript tests/reference/adjusted.R
#
# 1. Simulates a trial (set.seed) randomised by permuted blocks of 4 within 6 strata
#    (region x sex) with a binary outcome from a logistic model; writes it to
#    tests/fixtures/adjusted_data/trial.csv.
# 2. g-computation from glm(binomial): counterfactual risks, RD/RR/OR, with
#      - Ge et al. (2011) delta method with vcov(glm) (model-based) and with sandwich::sandwich
#        (HC0) in place of vcov;
#      - Ye, Shao, Yi & Zhao (2023) robust variance (simple randomisation), written from the
#        paper's Theorem (sample variances/covariances as R's var/cov);
#      - the same minus the covariate-adaptive-randomisation term for stratified permuted blocks
#        (Ye, Yi & Shao 2022; Bugni, Canay & Shaikh 2018): sum_z P(z) R_z Omega_SR R_z with
#        R_z = diag(E[y - mu_A(X) | Z = z, A = a] / pi_a), Omega_SR = diag(pi) - pi pi'.
#    with and without treatment-by-covariate interactions.
# 3. stats::mantelhaen.test (with and without continuity correction), metafor::rma.mh
#    (MH RD with the Sato-Greenland-Robins variance, MH RR with Greenland-Robins, MH OR with
#    Robins-Breslow-Greenland, Breslow-Day and Tarone homogeneity tests), the Greenland-Robins
#    (1985) RD variance written from the paper, stratified Newcombe (Yan & Su 2010: stratum
#    Wilson intervals at the adjusted level, combined with CMH weights) through prop.test, and
#    the stratified Miettinen-Nurminen score interval with CMH weights (constrained MLE by
#    optimize on each stratum's likelihood, limits by uniroot).
# 4. Farrington-Manning and Miettinen-Nurminen score tests at a margin (difference and
#    ratio; constrained MLE by optimize), and t.test-based TOST for means.
#
# Writes tests/fixtures/adjusted_from_r.py (stamped, DO NOT EDIT).

suppressPackageStartupMessages({
  library(sandwich)
  library(metafor)
})

num <- function(x) format(x, digits = 16)
vec <- function(v) paste0("[", paste(num(v), collapse = ", "), "]")
lines <- character()
add <- function(...) lines <<- c(lines, paste0(...))

# ------------------------------------------------------------------ 1. data
set.seed(20231118)
n <- 400
region <- sample(c("EU", "NA", "AS"), n, replace = TRUE, prob = c(0.5, 0.3, 0.2))
sex <- sample(c("F", "M"), n, replace = TRUE)
stratum <- paste(region, sex, sep = "/")
arm <- integer(n)
for (s in unique(stratum)) {   # permuted blocks of 4 within each stratum, in order of entry
  idx <- which(stratum == s)
  a <- unlist(lapply(seq_len(ceiling(length(idx) / 4)), function(b) sample(c(0, 0, 1, 1))))
  arm[idx] <- a[seq_along(idx)]
}
age <- round(rnorm(n, 60, 10))
hba1c <- round(rnorm(n, 8.5, 1.1), 1)
lp <- -0.4 + 0.7 * arm - 0.03 * (age - 60) - 0.5 * (hba1c - 8.5) + 0.4 * (sex == "M") +
  c(EU = 0, "NA" = -0.5, AS = 0.6)[region] + 0.3 * arm * (hba1c - 8.5)
y <- rbinom(n, 1, plogis(lp))
trial <- data.frame(id = seq_len(n), y = y, arm = arm, age = age, hba1c = hba1c, sex = sex,
                    region = region, stratum = stratum)
dir.create("tests/fixtures/adjusted_data", showWarnings = FALSE, recursive = TRUE)
write.csv(trial, "tests/fixtures/adjusted_data/trial.csv", row.names = FALSE, quote = TRUE)

# ------------------------------------------------------------------ 2. g-computation
gcomp <- function(formula, d, strata = NULL) {
  fit <- glm(formula, family = binomial, data = d, control = glm.control(epsilon = 1e-14, maxit = 100))
  d1 <- d; d1$arm <- 1
  d0 <- d; d0$arm <- 0
  X1 <- model.matrix(formula, model.frame(formula, d1))
  X0 <- model.matrix(formula, model.frame(formula, d0))
  b <- coef(fit)
  p1 <- plogis(drop(X1 %*% b)); p0 <- plogis(drop(X0 %*% b))
  theta <- c(mean(p0), mean(p1))            # order: control, experimental
  # Ge et al. (2011): d theta_a / d beta = mean(p_a (1 - p_a) x_a)
  D <- rbind(colMeans(p0 * (1 - p0) * X0), colMeans(p1 * (1 - p1) * X1))
  V_ge <- D %*% vcov(fit) %*% t(D)
  V_hc0 <- D %*% sandwich(fit) %*% t(D)
  # Ye et al. (2023)
  yv <- d$y; a <- d$arm; N <- length(yv)
  pi <- c(mean(a == 0), mean(a == 1))
  P <- cbind(p0, p1)
  V_ye <- matrix(0, 2, 2)
  for (i in 1:2) for (j in 1:2) {
    in_i <- a == i - 1; in_j <- a == j - 1
    if (i == j) {
      V_ye[i, i] <- var(yv[in_i] - P[in_i, i]) / pi[i] + 2 * cov(yv[in_i], P[in_i, i]) - var(P[, i])
    } else {
      V_ye[i, j] <- cov(yv[in_i], P[in_i, j]) + cov(yv[in_j], P[in_j, i]) - cov(P[, i], P[, j])
    }
  }
  V_ye <- V_ye / N
  V_car <- NULL
  if (!is.null(strata)) {
    z <- d[[strata]]
    resid <- yv - ifelse(a == 1, p1, p0)
    Om <- diag(pi) - pi %o% pi
    erb <- matrix(0, 2, 2)
    for (s in unique(z)) {
      R <- diag(c(mean(resid[z == s & a == 0]) / pi[1], mean(resid[z == s & a == 1]) / pi[2]))
      erb <- erb + mean(z == s) * R %*% Om %*% R
    }
    V_car <- V_ye - erb / N
  }
  list(theta = theta, ge = V_ge, hc0 = V_hc0, ye = V_ye, car = V_car, coef = b)
}
contrasts_of <- function(theta, V) {
  g <- list(rd = c(-1, 1), rr = c(-1 / theta[1], 1 / theta[2]),
            or = c(-1 / (theta[1] * (1 - theta[1])), 1 / (theta[2] * (1 - theta[2]))))
  est <- c(rd = theta[2] - theta[1], rr = theta[2] / theta[1],
           or = theta[2] / (1 - theta[2]) / (theta[1] / (1 - theta[1])))
  se <- sapply(g, function(gg) sqrt(drop(t(gg) %*% V %*% gg)))
  list(estimate = est, se = se)   # se of rd, log rr, log or
}
emit_gcomp <- function(name, g) {
  add(name, " = dict(")
  add("    coef=", vec(g$coef), ",")
  add("    theta=", vec(g$theta), ",")
  for (v in c("ge", "hc0", "ye", "car")) {
    if (is.null(g[[v]])) next
    cc <- contrasts_of(g$theta, g[[v]])
    add("    ", v, "_vcov=", vec(as.vector(g[[v]])), ",")
    add("    ", v, "_se=", vec(cc$se), ",")
  }
  cc <- contrasts_of(g$theta, g$ye)
  add("    estimate=", vec(cc$estimate), ",")
  add(")")
  add("")
}
f_main <- y ~ arm + age + hba1c + sex + region
emit_gcomp("GCOMP_MAIN", gcomp(f_main, trial, strata = "stratum"))
f_int <- y ~ arm * (age + hba1c + sex)
emit_gcomp("GCOMP_INTERACTION", gcomp(f_int, trial))
f_strat <- y ~ arm + age + hba1c + stratum
emit_gcomp("GCOMP_STRATA", gcomp(f_strat, trial, strata = "stratum"))

# ------------------------------------------------------------------ 3. stratified 2x2
strat_tables <- function(d) {
  # a: events experimental, b: non-events experimental, c: events control, d: non-events control
  levs <- sort(unique(d$stratum))
  t(sapply(levs, function(s) {
    e <- d[d$stratum == s, ]
    c(a = sum(e$y[e$arm == 1]), b = sum(1 - e$y[e$arm == 1]),
      c = sum(e$y[e$arm == 0]), d = sum(1 - e$y[e$arm == 0]))
  }))
}
wilson_adj <- function(x, n, level) {
  ci <- suppressWarnings(prop.test(x, n, correct = FALSE, conf.level = level)$conf.int)
  as.numeric(ci)
}
strat_wilson <- function(x, n, w, conf) {
  p <- x / n; v <- p * (1 - p) / n
  zq <- qnorm((1 + conf) / 2)
  zs <- sqrt(sum(w^2 * v)) / sum(sqrt(w^2 * v)) * zq
  lev <- 2 * pnorm(zs) - 1
  ci <- sapply(seq_along(x), function(k) wilson_adj(x[k], n[k], lev))
  c(est = sum(w * p), low = sum(w * ci[1, ]), high = sum(w * ci[2, ]))
}
cmle_rd <- function(x1, n1, x0, n0, delta) {
  # maximise the binomial likelihood over p0 with p1 = p0 + delta
  ll <- function(p0) {
    p1 <- p0 + delta
    dbinom(x1, n1, p1, log = TRUE) + dbinom(x0, n0, p0, log = TRUE)
  }
  lo <- max(0, -delta); hi <- min(1, 1 - delta)
  p0 <- optimize(ll, c(lo, hi), maximum = TRUE, tol = 1e-13)$maximum
  c(p0 + delta, p0)
}
strat_mn <- function(tab, conf) {
  x1 <- tab[, "a"]; n1 <- tab[, "a"] + tab[, "b"]; x0 <- tab[, "c"]; n0 <- tab[, "c"] + tab[, "d"]
  N <- n1 + n0; w <- n1 * n0 / N; w <- w / sum(w)
  dk <- x1 / n1 - x0 / n0; est <- sum(w * dk)
  zfun <- function(delta) {
    v <- sapply(seq_along(x1), function(k) {
      p <- cmle_rd(x1[k], n1[k], x0[k], n0[k], delta)
      (p[1] * (1 - p[1]) / n1[k] + p[2] * (1 - p[2]) / n0[k]) * N[k] / (N[k] - 1)
    })
    sum(w * (dk - delta)) / sqrt(sum(w^2 * v))
  }
  zq <- qnorm((1 + conf) / 2)
  low <- uniroot(function(t) zfun(t) - zq, c(-0.999999, est), tol = 1e-13)$root
  high <- uniroot(function(t) zfun(t) + zq, c(est, 0.999999), tol = 1e-13)$root
  c(est = est, low = low, high = high, z0 = zfun(0))
}
emit_strat <- function(name, tab) {
  arr <- array(0, c(2, 2, nrow(tab)))
  for (k in seq_len(nrow(tab))) arr[, , k] <- matrix(c(tab[k, "a"], tab[k, "c"], tab[k, "b"], tab[k, "d"]), 2)
  m1 <- mantelhaen.test(arr, correct = TRUE)
  m0 <- mantelhaen.test(arr, correct = FALSE)
  ai <- tab[, "a"]; bi <- tab[, "b"]; ci <- tab[, "c"]; di <- tab[, "d"]
  mh_or <- rma.mh(ai = ai, bi = bi, ci = ci, di = di, measure = "OR")
  mh_rr <- rma.mh(ai = ai, bi = bi, ci = ci, di = di, measure = "RR")
  mh_rd <- rma.mh(ai = ai, bi = bi, ci = ci, di = di, measure = "RD")
  # Greenland & Robins (1985) RD variance (not sparse-data consistent)
  n1 <- ai + bi; n0 <- ci + di; N <- n1 + n0
  rd <- sum((ai * n0 - ci * n1) / N) / sum(n1 * n0 / N)
  var_gr <- sum((ai * bi * n0^3 + ci * di * n1^3) / (n1 * n0 * N^2)) / sum(n1 * n0 / N)^2
  w <- n1 * n0 / N; w <- w / sum(w)
  sw1 <- strat_wilson(ai, n1, w, 0.95); sw0 <- strat_wilson(ci, n0, w, 0.95)
  d <- sw1[["est"]] - sw0[["est"]]
  nc <- c(d, d - sqrt((sw1[["est"]] - sw1[["low"]])^2 + (sw0[["high"]] - sw0[["est"]])^2),
          d + sqrt((sw1[["high"]] - sw1[["est"]])^2 + (sw0[["est"]] - sw0[["low"]])^2))
  mn <- strat_mn(tab, 0.95)
  add(name, " = dict(")
  add("    a=", vec(ai), ", b=", vec(bi), ", c=", vec(ci), ", d=", vec(di), ",")
  add("    cmh_cc=", num(unname(m1$statistic)), ", cmh_cc_p=", num(m1$p.value), ",")
  add("    cmh=", num(unname(m0$statistic)), ", cmh_p=", num(m0$p.value), ",")
  add("    mh_or=", num(unname(m0$estimate)), ", mh_or_ci=", vec(m0$conf.int), ",")
  add("    rma_or=", vec(exp(c(mh_or$beta, mh_or$ci.lb, mh_or$ci.ub))), ", rma_or_se=", num(mh_or$se), ",")
  add("    rma_rr=", vec(exp(c(mh_rr$beta, mh_rr$ci.lb, mh_rr$ci.ub))), ", rma_rr_se=", num(mh_rr$se), ",")
  add("    rma_rd=", vec(c(mh_rd$beta, mh_rd$ci.lb, mh_rd$ci.ub)), ", rma_rd_se=", num(mh_rd$se), ",")
  add("    rma_cmh=", num(mh_or$MH), ", rma_cmh_p=", num(mh_or$MHp), ",")
  add("    breslow_day=", num(mh_or$BD), ", breslow_day_p=", num(mh_or$BDp), ",")
  add("    tarone=", num(mh_or$TA), ", tarone_p=", num(mh_or$TAp), ", homog_df=", num(mh_or$k.pos - 1), ",")
  add("    gr_rd=", num(rd), ", gr_rd_se=", num(sqrt(var_gr)), ",")
  add("    newcombe=", vec(nc), ",")
  add("    wilson1=", vec(sw1), ", wilson0=", vec(sw0), ",")
  add("    mn=", vec(mn[1:3]), ", mn_z0=", num(mn[["z0"]]), ",")
  add(")")
  add("")
}
emit_strat("STRAT_TRIAL", strat_tables(trial))
# Penicillin and rabbits (Cochran 1954), the example of R's ?mantelhaen.test: 5 penicillin
# levels; experimental = treated immediately ("None" delay), event = cured. Stratum 1 has no
# cures (it contributes nothing), stratum 5 has no deaths.
rabbits <- cbind(a = c(0, 3, 6, 5, 2), b = c(6, 3, 0, 1, 0), c = c(0, 0, 2, 6, 5), d = c(5, 6, 4, 0, 0))
rownames(rabbits) <- paste0("s", 1:5)
arr <- array(0, c(2, 2, 5))
for (k in 1:5) arr[, , k] <- matrix(c(rabbits[k, "a"], rabbits[k, "c"], rabbits[k, "b"], rabbits[k, "d"]), 2)
Rabbits <- array(c(0, 0, 6, 5, 3, 0, 3, 6, 6, 2, 0, 4, 5, 6, 1, 0, 2, 5, 0, 0), dim = c(2, 2, 5))
stopifnot(all(arr == Rabbits))  # the same array as in ?mantelhaen.test
emit_strat("RABBITS", rabbits)

# ------------------------------------------------------------------ 4. margins and TOST
cmle_rr <- function(x1, n1, x0, n0, phi) {
  ll <- function(p0) dbinom(x1, n1, phi * p0, log = TRUE) + dbinom(x0, n0, p0, log = TRUE)
  p0 <- optimize(ll, c(0, min(1, 1 / phi)), maximum = TRUE, tol = 1e-13)$maximum
  c(phi * p0, p0)
}
margin_tests <- function(x1, n1, x0, n0, delta, phi) {
  N <- n1 + n0; p1 <- x1 / n1; p0 <- x0 / n0
  q <- cmle_rd(x1, n1, x0, n0, delta)
  v <- q[1] * (1 - q[1]) / n1 + q[2] * (1 - q[2]) / n0
  z_fm <- (p1 - p0 - delta) / sqrt(v); z_mn <- (p1 - p0 - delta) / sqrt(v * N / (N - 1))
  r <- cmle_rr(x1, n1, x0, n0, phi)
  vr <- r[1] * (1 - r[1]) / n1 + phi^2 * r[2] * (1 - r[2]) / n0
  zr_fm <- (p1 - phi * p0) / sqrt(vr); zr_mn <- (p1 - phi * p0) / sqrt(vr * N / (N - 1))
  c(z_fm = z_fm, z_mn = z_mn, zr_fm = zr_fm, zr_mn = zr_mn)
}
add("MARGIN = [")
for (case in list(c(150, 200, 155, 200, -0.10, 0.8), c(40, 60, 45, 58, -0.15, 0.75), c(9, 45, 2, 44, 0.05, 1.5))) {
  z <- margin_tests(case[1], case[2], case[3], case[4], case[5], case[6])
  add("    dict(x1=", case[1], ", n1=", case[2], ", x2=", case[3], ", n2=", case[4],
      ", delta=", num(case[5]), ", phi=", num(case[6]), ", z_fm=", num(z[["z_fm"]]),
      ", z_mn=", num(z[["z_mn"]]), ", zr_fm=", num(z[["zr_fm"]]), ", zr_mn=", num(z[["zr_mn"]]), "),")
}
add("]")
add("")
set.seed(7)
xm <- round(rnorm(30, 5.2, 1.3), 2); ym <- round(rnorm(34, 5.0, 1.1), 2)
tost <- function(var.equal) {
  lo <- t.test(xm, ym, mu = -0.8, alternative = "greater", var.equal = var.equal)
  hi <- t.test(xm, ym, mu = 0.8, alternative = "less", var.equal = var.equal)
  ci <- t.test(xm, ym, var.equal = var.equal, conf.level = 0.90)$conf.int
  c(lo$p.value, hi$p.value, lo$statistic, hi$statistic, lo$parameter, ci)
}
add("TOST_MEANS = dict(")
add("    x=", vec(xm), ",")
add("    y=", vec(ym), ",")
add("    low=-0.8, high=0.8,")
add("    pooled=", vec(tost(TRUE)), ",  # p_low, p_high, t_low, t_high, df, 90% CI")
add("    welch=", vec(tost(FALSE)), ",")
add(")")
add("")

header <- c(
  paste0('"""Generated by tests/reference/adjusted.R on ', format(Sys.Date()), " with ", R.version.string,
         " (sandwich ", packageVersion("sandwich"), ", metafor ", packageVersion("metafor"), ")."),
  "",
  "DO NOT EDIT. Data set: tests/fixtures/adjusted_data/trial.csv (written by the same script).",
  "Vectors of variances are 2x2 matrices in column order (control, experimental); *_se are the",
  "standard errors of (rd, log rr, log or).",
  '"""',
  "")
writeLines(c(header, lines), "tests/fixtures/adjusted_from_r.py")
cat("wrote tests/fixtures/adjusted_from_r.py\n")
